"""The shared helpers every check is built on."""
import torch

from ptcourse.checks._core import close


def test_close_cannot_be_fooled_by_a_tensor_subclass():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in (torch.allclose, torch.Tensor.allclose):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    assert not close(torch.zeros(3).as_subclass(Liar), torch.ones(3))
    assert close(torch.nn.Parameter(torch.ones(2)), torch.ones(2))
