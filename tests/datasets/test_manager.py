import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.data import SequentialSampler

from moevae.datasets import DataManager, fetch_minst
from moevae.errors import DataError, MoEVAEError
from moevae.transforms import flatten


@pytest.fixture
def mnist(mnist_dir):
    return fetch_minst(str(mnist_dir), download=False)


def manager_of(item, **options):
    settings_ = dict(input_path=item.input_path,
                     metadata_path=item.metadata_path, stratify_label="label",
                     number_of_folds=5, batch_size=32, test_size=0,
                     input_transforms=[flatten], add_input=True)
    settings_.update(options)
    return DataManager(**settings_)


def test_folds_are_stratified_disjoint_and_cover(mnist):
    manager = manager_of(mnist)
    labels = pd.read_csv(mnist.metadata_path, sep="\t")["label"].to_numpy()
    validations = []
    for train, validation in zip(manager["train"], manager["validation"]):
        assert not set(train.indices) & set(validation.indices)
        assert len(train) + len(validation) == 700
        shares = (np.bincount(labels[validation.indices], minlength=10) /
            len(validation))
        overall = np.bincount(labels, minlength=10) / len(labels)
        assert np.abs(shares - overall).max() < 0.02
        validations.append(validation.indices)
    assert sorted(np.concatenate(validations)) == list(range(700))


def test_batches_shape_and_add_input(mnist):
    loaders = manager_of(mnist).get_dataloader(train=True, validation=True)
    batches = list(loaders.train)
    assert len(batches) == len(loaders.train) == 18  # ceil(560 / 32)
    assert batches[0].inputs.shape == (32, 784)
    assert batches[-1].inputs.shape == (560 - 17 * 32, 784)
    assert all(torch.equal(b.inputs, b.outputs) for b in batches)
    assert batches[0].labels is None
    sample = loaders.train.dataset[0]  # pynet's per-sample view
    assert sample.inputs.shape == (784,) and sample.outputs is sample.inputs
    assert batches[0].inputs.dtype == torch.float32


@pytest.mark.parametrize("in_memory", [True, False])
def test_every_sample_once_per_epoch(mnist, in_memory):
    manager = manager_of(mnist, in_memory=in_memory, labels="label")
    loader = manager.get_dataloader(train=True).train
    inputs = np.load(mnist.input_path)
    for _ in range(2):
        seen = torch.cat([b.inputs for b in loader]).numpy()
        assert len(seen) == len(manager["train"][0])
        rows = {row.tobytes() for row in seen}
        expected = {inputs[i].flatten().tobytes()
                    for i in manager["train"][0].indices}
        assert rows == expected


def test_transforms_match_pynet_per_sample_result(mnist):
    """Tensor batching gives what pynet's per-sample path gives."""
    def scale(arr):
        return arr * 2 - 1
    options = dict(input_transforms=[flatten, scale], labels="label",
                   sampler=None)
    fast = manager_of(mnist, **options).get_dataloader(train=True).train
    slow = manager_of(mnist, in_memory=False, **options).get_dataloader(
        train=True).train
    assert fast.tensors is not None and slow.tensors is None
    inputs = np.load(mnist.input_path)
    labels = pd.read_csv(mnist.metadata_path, sep="\t")["label"].to_numpy()
    indices = fast.dataset.indices
    for quick, reference, start in zip(fast, slow, range(0, 10 ** 6, 32)):
        chosen = indices[start:start + 32]
        pynet = np.stack([inputs[i].flatten() * 2 - 1 for i in chosen])
        np.testing.assert_array_equal(quick.inputs.numpy(), pynet)
        np.testing.assert_array_equal(reference.inputs.numpy(), pynet)
        np.testing.assert_array_equal(quick.labels.numpy(), labels[chosen])
        assert quick.labels.dtype == reference.labels.dtype == torch.long


def test_seeded_transform_stays_per_sample(mnist):
    class Noise:
        seed = None

        def __call__(self, arr):
            rng = np.random.default_rng(self.seed)
            return arr + rng.normal(size=arr.shape).astype(np.float32)
    manager = manager_of(mnist, input_transforms=[flatten, Noise()])
    assert manager.tensors is None
    batch = next(iter(manager.get_dataloader(train=True).train))
    assert batch.inputs.shape == (32, 784) and batch.inputs.std() > 0.5


def test_test_split_and_validation(mnist):
    manager = manager_of(mnist, test_size=0.2)
    loaders = manager.get_dataloader(train=True, validation=True, test=True,
                                     fold_index=3)
    sizes = [len(loader.dataset) for loader in loaders]
    assert sizes == [140, 448, 112]  # test, train, validation
    assert not set(loaders.test.dataset.indices) & set(
        loaders.train.dataset.indices)


def test_resumed_loader_draws_the_same_batches(mnist):
    loader = manager_of(mnist).get_dataloader(train=True).train
    iterator = iter(loader)
    [next(iterator) for _ in range(5)]
    state = loader.state_dict()
    rest = [b.inputs for b in iterator]
    other = manager_of(mnist).get_dataloader(train=True).train
    other.load_state_dict(state)
    again = [b.inputs for b in other]
    assert len(again) == len(rest) == 13
    assert all(torch.equal(a, b) for a, b in zip(rest, again))
    assert torch.equal(next(iter(loader)).inputs, next(iter(other)).inputs)


def test_weighted_and_custom_samplers(mnist):
    weighted = manager_of(mnist, sampler="weighted_random")
    assert len(list(weighted.get_dataloader(train=True).train)) == 18
    custom = manager_of(mnist, sampler=SequentialSampler)
    first = next(iter(custom.get_dataloader(train=True).train))
    inputs = np.load(mnist.input_path)
    expected = inputs[custom["train"][0].indices[:32]].reshape(32, -1)
    np.testing.assert_array_equal(first.inputs.numpy(), expected)


def test_from_numpy():
    rng = np.random.default_rng(0)
    manager = DataManager.from_numpy(
        train_inputs=rng.random((20, 3), dtype=np.float32),
        train_labels=np.arange(20) % 2,
        validation_inputs=rng.random((6, 3), dtype=np.float32),
        validation_labels=np.arange(6) % 2, batch_size=4, add_input=True)
    loaders = manager.get_dataloader(train=True, validation=True)
    assert len(loaders.train) == 5 and len(loaders.validation) == 2
    batch = next(iter(loaders.validation))
    assert torch.equal(batch.outputs, batch.inputs)
    assert batch.labels.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("options, message", [
    (dict(batch_size=0), "batch_size=0"),
    (dict(number_of_folds=1), "number_of_folds=1"),
    (dict(test_size=1.5), "test_size=1.5"),
    (dict(sampler="shuffled"), "sampler='shuffled'"),
    (dict(stratify_label="digit"), "stratify_label='digit'.*columns"),
    (dict(labels="nope"), "labels='nope'"),
    (dict(patch_size=(5, 5)), r"patch_size=\(5, 5\): expected .* \(28, 28\)"),
    (dict(patch_size=(7,)), "patch_size"),
    (dict(num_wokers=2), "num_wokers"),
    (dict(input_transforms=flatten), "input_transforms"),
])
def test_bad_options_are_one_line_errors(mnist, options, message):
    with pytest.raises(MoEVAEError, match=message) as error:
        manager_of(mnist, **options)
    assert "\n" not in str(error.value)


def test_fold_index_out_of_range(mnist):
    with pytest.raises(MoEVAEError, match=r"fold_index=5: expected .*\[0, 5\)"):
        manager_of(mnist).get_dataloader(train=True, fold_index=5)


def test_missing_files(tmp_path, mnist):
    with pytest.raises(DataError, match="no such file"):
        manager_of(mnist, input_path=str(tmp_path / "none.npy"))
    with pytest.raises(DataError, match="metadata_path"):
        manager_of(mnist, metadata_path=str(tmp_path / "none.tsv"))


def write_case(folder, inputs, table):
    np.save(folder / "x.npy", inputs)
    table.to_csv(folder / "m.tsv", sep="\t", index=False)
    return str(folder / "x.npy"), str(folder / "m.tsv")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(0, 30), extra_rows=st.integers(-3, 3),
       dtype=st.sampled_from(["float32", "float64", "int64", "bool",
                              "complex64", "U2"]),
       ndim=st.integers(1, 4), poison=st.sampled_from([None, "nan", "inf"]),
       label_kind=st.sampled_from(["int", "str", "nan", "missing"]),
       folds=st.integers(-1, 12))
def test_malformed_inputs_give_moevae_errors(tmp_path, rows, extra_rows,
                                             dtype, ndim, poison, label_kind,
                                             folds):
    shape = (rows,) + (3,) * (ndim - 1)
    inputs = np.ones(shape).astype(dtype)
    if poison and rows and inputs.dtype.kind == "f":
        inputs.flat[0] = float(poison)
    count = max(rows + extra_rows, 0)
    labels = {"int": np.arange(count) % 3, "str": ["a"] * count,
              "nan": [np.nan] * count, "missing": None}[label_kind]
    table = pd.DataFrame({"label": labels} if labels is not None else
                         {"other": np.zeros(count)})
    input_path, metadata_path = write_case(tmp_path, inputs, table)
    try:
        manager = DataManager(input_path, metadata_path, labels="label",
                              stratify_label="label", number_of_folds=folds,
                              batch_size=2, test_size=0)
    except MoEVAEError:
        return
    # whatever was accepted must load cleanly
    for batch in manager.get_dataloader(train=True).train:
        assert torch.isfinite(batch.inputs).all()


def arrays(count=20, labels=None):
    inputs = np.arange(count * 16, dtype=np.float32).reshape(count, 1, 4, 4)
    labels = np.arange(count) % 10 if labels is None else labels
    return inputs, labels


@pytest.mark.parametrize("in_memory", [None, False])
def test_from_numpy_applies_label_mapping(in_memory):
    inputs, digits = arrays()
    manager = DataManager.from_numpy(
        train_inputs=inputs, train_labels=digits, validation_inputs=inputs,
        validation_labels=digits, batch_size=20, sampler=None,
        label_mapping={d: d % 2 for d in range(10)}, in_memory=in_memory)
    loaders = manager.get_dataloader(train=True, validation=True)
    for loader in loaders[1:]:
        assert next(iter(loader)).labels.tolist() == (digits % 2).tolist()


def test_string_labels_are_mapped_or_refused_in_one_line():
    inputs, _ = arrays(4)
    names = np.array(["cat", "dog", "dog", "cat"])
    manager = DataManager.from_numpy(
        train_inputs=inputs, train_labels=names, sampler=None, batch_size=4,
        label_mapping={"cat": 0, "dog": 1})
    batch = next(iter(manager.get_dataloader(train=True).train))
    assert batch.labels.tolist() == [0, 1, 1, 0]
    with pytest.raises(DataError, match="give a label_mapping") as error:
        DataManager.from_numpy(train_inputs=inputs, train_labels=names)
    with pytest.raises(DataError, match=r"no entry for label\(s\) \['dog'\]"):
        DataManager.from_numpy(train_inputs=inputs, train_labels=names,
                               label_mapping={"cat": 0})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name, value", [
    ("test_size", 0.2), ("stratify_label", "label"), ("number_of_folds", 3),
    ("sample_size", 0.5), ("projection_labels", {"label": 1}),
    ("metadata_path", "m.tsv")])
def test_from_numpy_refuses_splitting_arguments(name, value):
    inputs, labels = arrays()
    with pytest.raises(MoEVAEError, match=f"{name}=.*already split"):
        DataManager.from_numpy(train_inputs=inputs, train_labels=labels,
                               **{name: value})
    sets = {"train": (inputs, None, labels)}
    options = {"metadata_path": None, name: value}
    with pytest.raises(MoEVAEError, match=f"{name}=.*dict of sets"):
        DataManager(sets, **options)


def test_from_numpy_weighted_sampler_says_what_works():
    inputs, labels = arrays()
    with pytest.raises(MoEVAEError, match="sampler='weighted_random': "
                       "expected None, 'random' or a Sampler class with "
                       "from_numpy") as error:
        DataManager.from_numpy(train_inputs=inputs, train_labels=labels,
                               sampler="weighted_random")
    assert "stratify_label too" not in str(error.value)


@pytest.mark.parametrize("in_memory", [None, False])
def test_drop_last_skips_only_the_incomplete_training_batch(in_memory):
    """Validation and test keep every row: a score on fewer rows than the
    set holds would be wrong without a word (a torch DataLoader drops
    them too)."""
    inputs, labels = arrays(10)
    manager = DataManager.from_numpy(
        train_inputs=inputs, train_labels=labels, validation_inputs=inputs,
        test_inputs=inputs, batch_size=4, drop_last=True, in_memory=in_memory)
    loaders = manager.get_dataloader(train=True, validation=True, test=True)
    sizes = [len(batch.inputs) for batch in loaders.train]
    assert sizes == [4, 4] and len(loaders.train) == 2
    for loader in (loaders.validation, loaders.test):
        sizes = [len(batch.inputs) for batch in loader]
        assert sizes == [4, 4, 2] and len(loader) == 3


def test_shuffle_and_generator_set_the_order_of_every_loader():
    inputs, _ = arrays(50)

    def orders(seed, **options):
        manager = DataManager.from_numpy(
            train_inputs=inputs, validation_inputs=inputs, test_inputs=inputs,
            batch_size=50, sampler=None, shuffle=True,
            generator=torch.Generator().manual_seed(seed), **options)
        loaders = manager.get_dataloader(train=True, validation=True,
                                         test=True)
        return [next(iter(loader)).inputs[:, 0, 0, 0].tolist()
                for loader in loaders]
    first = orders(1)
    in_order = inputs[:, 0, 0, 0].tolist()
    assert all(order != in_order and sorted(order) == in_order
               for order in first)
    assert orders(1) == first and orders(1, in_memory=False) == first
    assert orders(2) != first


@pytest.mark.parametrize("options, message", [
    (dict(collate_fn=list), "collate_fn=.*moevae draws"),
    (dict(batch_sampler=[[0]]), "batch_sampler=.*moevae draws"),
    (dict(shuffle=True, sampler=SequentialSampler), "shuffle=True"),
    (dict(generator=3), "generator=3 .*torch.Generator"),
    (dict(drop_lats=True), "'drop_lats'.*'drop_last'"),
    (dict(drop_last="yes"), r"drop_last='yes' \(str\): expected True or"),
    (dict(prefetch_factor=2), r"^prefetch_factor=2: expected None when "
                              "num_workers=0"),
    (dict(num_workers=-1), r"^num_workers=-1: expected an integer >= 0$"),
    (dict(timeout=5), r"^timeout=5: expected 0 when num_workers=0"),
    (dict(pin_memory="yes"), r"^pin_memory='yes' \(str\): expected True"),
])
def test_refused_dataloader_options_say_why(options, message):
    inputs, labels = arrays()
    with pytest.raises(MoEVAEError, match=message) as error:
        DataManager.from_numpy(train_inputs=inputs, train_labels=labels,
                               **options)
    assert "\n" not in str(error.value)


class Flip:
    """A seeded augmentation returning a view with negative strides."""
    seed = None

    def __call__(self, sample):
        return sample[..., ::-1]


@pytest.mark.parametrize("options", [
    dict(input_transforms=[lambda a: a[..., ::-1]]),
    dict(input_transforms=[lambda a: a[..., ::-1]], in_memory=False),
    dict(input_transforms=[Flip()]),
    dict(data_augmentation_transforms=[Flip()]),
    dict(input_transforms=[lambda a: torch.as_tensor(a[..., ::-1].copy())],
         in_memory=False),
])
def test_transform_outputs_are_normalised_on_every_path(options):
    inputs, _ = arrays(6)
    manager = DataManager.from_numpy(train_inputs=inputs, batch_size=6,
                                     sampler=None, **options)
    batch = next(iter(manager.get_dataloader(train=True).train))
    np.testing.assert_array_equal(batch.inputs.numpy(), inputs[..., ::-1])
    assert batch.inputs.dtype == torch.float32


def test_per_sample_shape_mismatch_is_one_line():
    inputs, _ = arrays(4)
    calls = iter(range(100))

    class Crop:
        seed = None

        def __call__(self, sample):
            return sample[..., :2 + next(calls) % 2]
    manager = DataManager.from_numpy(train_inputs=inputs, batch_size=4,
                                     input_transforms=[Crop()])
    with pytest.raises(DataError, match="different shapes") as error:
        next(iter(manager.get_dataloader(train=True).train))
    assert "\n" not in str(error.value)


def test_worker_options_run_the_per_sample_path_through_a_dataloader():
    inputs, labels = arrays(10)
    manager = DataManager.from_numpy(
        train_inputs=inputs, train_labels=labels, batch_size=4, sampler=None,
        num_workers=1, drop_last=True)
    loader = manager.get_dataloader(train=True).train
    assert manager.tensors is None
    batches = list(loader)
    assert [len(batch.inputs) for batch in batches] == [4, 4]
    np.testing.assert_array_equal(torch.cat([b.inputs for b in batches]),
                                  inputs[:8])
    assert (torch.cat([b.labels for b in batches]).tolist() ==
        labels[:8].tolist())


def test_pynet_mask_helpers():
    table = pd.DataFrame({"sex": ["M", "F", "M", "F"], "age": [20, 30, 40,
                                                               50]})
    mask = DataManager.get_mask(table, {"sex": "M", "age": [20, 30]})
    assert mask.tolist() == [True, False, False, False]
    assert DataManager.get_mask_indices(np.array([False, True, True])
                                        ).tolist() == [1, 2]


def test_memory_mapped_files_give_no_torch_warning(tmp_path):
    import warnings
    inputs = np.random.default_rng(0).random((8, 1, 4, 4)).astype("float32")
    np.save(tmp_path / "x.npy", inputs)
    np.save(tmp_path / "y.npy", inputs * 2)
    pd.DataFrame({"label": [0, 1] * 4}).to_csv(tmp_path / "m.tsv", sep="\t",
                                               index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        manager = DataManager(str(tmp_path / "x.npy"), str(tmp_path / "m.tsv"),
                              output_path=str(tmp_path / "y.npy"),
                              number_of_folds=2, test_size=0, batch_size=8,
                              sampler=None)
    batch = next(iter(manager.get_dataloader(train=True).train))
    rows = manager["train"][0].indices
    np.testing.assert_array_equal(batch.outputs.numpy(), inputs[rows] * 2)


def test_real_valued_labels_are_never_truncated_to_classes():
    inputs = np.random.default_rng(0).random((20, 3), np.float32)
    with pytest.raises(MoEVAEError, match="not whole numbers .*"
                       "continuous_labels=True"):
        DataManager.from_numpy(train_inputs=inputs, batch_size=20,
                               train_labels=np.linspace(0.05, 0.95, 20))
    manager = DataManager.from_numpy(train_inputs=inputs, batch_size=20,
                                     train_labels=np.arange(20.0),
                                     sampler=None)
    labels = next(iter(manager.get_dataloader(train=True).train)).labels
    assert labels.dtype == torch.int64 and labels[:3].tolist() == [0, 1, 2]


def test_a_label_mapping_without_labels_is_refused(tmp_path):
    inputs = np.random.default_rng(0).random((20, 3), np.float32)
    with pytest.raises(MoEVAEError, match="label_mapping=.*expected no "
                       "mapping without labels"):
        DataManager.from_numpy(train_inputs=inputs, batch_size=4,
                               label_mapping={0: 1})


@pytest.mark.parametrize("build, asked, why", [
    # the case: every row held out for testing
    (lambda item: manager_of(item, test_size=1),
     "train=True", "test_size=1 holds every row out"),
    # arrays given as a test set only, or a validation set only
    (lambda item: DataManager.from_numpy(test_inputs=arrays()[0]),
     "validation=True", "the arrays hold no train set"),
    (lambda item: DataManager.from_numpy(validation_inputs=arrays()[0]),
     "train=True", "the arrays hold no train set")])
def test_loaders_without_training_rows_say_so(mnist, build, asked, why):
    manager = build(mnist)
    with pytest.raises(MoEVAEError) as error:
        manager.get_dataloader(**{asked.split("=")[0]: True})
    assert str(error.value).startswith(
        f"{asked} but there are no training rows: {why}")
    assert "fold_index" not in str(error.value)


@pytest.mark.parametrize("options", [
    {}, {"labels": "label"},                  # the pair
    {"sampler": "weighted_random"},           # weights from the column
    {"test_size": 0.25, "in_memory": False}])  # stratified hold-out, per sample
def test_stratify_on_a_column_empty_outside_the_projection(tmp_path, options):
    """The filtered-out rows' empty labels are never read."""
    count = 40
    np.save(tmp_path / "x.npy", np.zeros((count, 1, 4, 4), np.float32))
    sites = ["A", "B", "C", "D"] * (count // 4)
    labels = [str(row % 2) if site in "AB" else ""
              for row, site in enumerate(sites)]
    pd.DataFrame({"label": labels, "site": sites}).to_csv(
        tmp_path / "m.tsv", sep="\t", index=False)
    manager = DataManager(str(tmp_path / "x.npy"), str(tmp_path / "m.tsv"),
                          stratify_label="label", number_of_folds=2,
                          projection_labels={"site": ["A", "B"]},
                          batch_size=4, **options)
    loaders = manager.get_dataloader(train=True, validation=True)
    batch = next(iter(loaders.train))
    assert batch.inputs.shape == (4, 1, 4, 4)
    rows = np.concatenate(manager.folds[0])
    assert set(np.asarray(sites)[rows]) == {"A", "B"}
