"""Samplers of the training loader: what each one draws."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    WeightedRandomSampler,
)

from moevae.datasets import DataManager
from moevae.errors import MoEVAEError


def imbalanced(folder, majority=180, minority=20):
    """``majority`` samples of class 0 then ``minority`` of class 1."""
    labels = np.array([0] * majority + [1] * minority)
    inputs = np.arange(len(labels), dtype=np.float32)[:, None].repeat(2, 1)
    np.save(folder / "x.npy", inputs)
    pd.DataFrame({"label": labels}).to_csv(folder / "m.tsv", sep="\t",
                                           index=False)
    return str(folder / "x.npy"), str(folder / "m.tsv")


def drawn_labels(manager, epochs):
    torch.manual_seed(0)
    loader = manager.get_dataloader(train=True).train
    return torch.cat([batch.labels for _ in range(epochs)
                      for batch in loader]).numpy()


@pytest.mark.parametrize("in_memory", [None, False])
def test_weighted_random_balances_the_classes(tmp_path, in_memory):
    inputs, metadata = imbalanced(tmp_path)
    shares = {}
    for sampler in ("random", "weighted_random"):
        manager = DataManager(inputs, metadata, labels="label",
                              stratify_label="label", number_of_folds=2,
                              batch_size=25, test_size=0, sampler=sampler,
                              in_memory=in_memory)
        drawn = drawn_labels(manager, epochs=40)
        assert len(drawn) == 40 * 100
        shares[sampler] = float(np.mean(drawn == 1))
    assert shares["random"] == pytest.approx(0.10, abs=1e-9)
    # 1 / class count per sample: each class drawn about half the time
    assert shares["weighted_random"] == pytest.approx(0.5, abs=0.03)


def test_weights_are_one_over_the_class_count_of_the_fold(tmp_path):
    inputs, metadata = imbalanced(tmp_path)
    manager = DataManager(inputs, metadata, labels="label",
                          stratify_label="label", number_of_folds=2,
                          batch_size=25, test_size=0,
                          sampler="weighted_random")
    loader = manager.get_dataloader(train=True).train
    counts = {0: 90, 1: 10}  # the training fold holds half of each class
    labels = manager.labels[loader.dataset.indices]
    np.testing.assert_allclose(loader.weights.numpy(),
                               [1 / counts[label] for label in labels])


def test_custom_sampler_class_draws_its_order(tmp_path):
    inputs, metadata = imbalanced(tmp_path, 6, 4)
    manager = DataManager(inputs, metadata, number_of_folds=2, batch_size=5,
                          test_size=0, sampler=SequentialSampler)
    loader = manager.get_dataloader(train=True).train
    rows = torch.cat([batch.inputs[:, 0] for batch in loader]).long()
    assert rows.tolist() == loader.dataset.indices.tolist()
    torch.manual_seed(0)
    random = DataManager(inputs, metadata, number_of_folds=2, batch_size=5,
                         test_size=0, sampler=RandomSampler)
    loader = random.get_dataloader(train=True).train
    rows = torch.cat([batch.inputs[:, 0] for batch in loader]).long()
    assert sorted(rows.tolist()) == loader.dataset.indices.tolist()


@pytest.mark.parametrize("sampler, message", [
    (WeightedRandomSampler, "Sampler class built as sampler\\(dataset\\)"),
    (BatchSampler, "Sampler class built as sampler\\(dataset\\)"),
])
def test_a_sampler_that_cannot_draw_positions_is_one_line(tmp_path, sampler,
                                                          message):
    inputs, metadata = imbalanced(tmp_path, 6, 4)
    manager = DataManager(inputs, metadata, number_of_folds=2, batch_size=5,
                          test_size=0, sampler=sampler)
    with pytest.raises(MoEVAEError, match=message) as error:
        list(manager.get_dataloader(train=True).train)
    assert "\n" not in str(error.value)


class OutOfRange(SequentialSampler):
    def __iter__(self):
        return iter([0, len(self.data_source)])


def test_a_sampler_drawing_outside_the_set_is_refused(tmp_path):
    inputs, metadata = imbalanced(tmp_path, 6, 4)
    manager = DataManager(inputs, metadata, number_of_folds=2, batch_size=5,
                          test_size=0, sampler=OutOfRange)
    with pytest.raises(MoEVAEError,
                       match=r"OutOfRange.*\[0, 5\).*drew position 5"):
        list(manager.get_dataloader(train=True).train)


def test_a_random_sampler_class_resumes_at_the_same_batch(tmp_path):
    inputs, metadata = imbalanced(tmp_path, 30, 10)

    def loader():
        return DataManager(inputs, metadata, number_of_folds=2, batch_size=4,
                           test_size=0, sampler=RandomSampler
                           ).get_dataloader(train=True).train
    first = loader()
    iterator = iter(first)
    [next(iterator) for _ in range(2)]
    state = first.state_dict()
    rest = [batch.inputs[:, 0].tolist() for batch in iterator]
    torch.rand(100)  # the global RNG moves on, as training moves it
    resumed = loader()
    resumed.load_state_dict(state)
    again = [batch.inputs[:, 0].tolist() for batch in resumed]
    assert len(rest) == 3 and again == rest
