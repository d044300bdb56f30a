"""Statistics of the global batch: plain outside a sharded batch, the
whole batch's draw cut to this rank's rows inside one."""
import torch

from moevae.datasets.loaders import BatchShare
from moevae.models import global_batch
from moevae.models.global_batch import batch_noise, batch_sum, sharded_batch


def test_outside_a_share_the_operations_are_plain():
    values = torch.arange(6.0).reshape(3, 2)
    assert torch.equal(batch_sum(values), values.sum(dim=0))
    torch.manual_seed(1)
    expected = torch.randn(3, 4)
    torch.manual_seed(1)
    assert torch.equal(batch_noise(0, 3, 4, like=values), expected)


def test_inside_a_share_noise_is_the_global_draw_cut_to_its_rows():
    like = torch.zeros((), dtype=torch.float64)
    torch.manual_seed(2)
    whole = batch_noise(0, 7, 3, like=like)
    for share in (BatchShare(0, 4, 7, 2), BatchShare(4, 7, 7, 2)):
        torch.manual_seed(2)
        with sharded_batch(share):
            part = batch_noise(0, share.stop - share.start, 3, like=like)
        assert part.dtype == torch.float64
        assert torch.equal(part, whole[share.start:share.stop])


def test_the_share_is_set_only_inside_the_block_even_on_error():
    share = BatchShare(0, 1, 2, 2)
    try:
        with sharded_batch(share):
            assert global_batch._SHARE.get() == share
            raise ValueError("inside")
    except ValueError:
        pass
    assert global_batch._SHARE.get() is None


def test_without_a_process_group_a_share_sums_its_own_rows():
    values = torch.ones(3, 2, requires_grad=True)
    with sharded_batch(BatchShare(0, 3, 6, 2)):
        total = batch_sum(values)
    assert total.tolist() == [3.0, 3.0]
    total.sum().backward()
    assert values.grad.tolist() == [[1.0, 1.0]] * 3
