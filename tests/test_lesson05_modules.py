"""The modules lesson 05 imports: samplers and datasets, the distributed stream, and the GPU cells' code
(tested for structure on a CPU; `benchmarks/gpu_cells.py` runs it on a GPU)."""
from __future__ import annotations

import inspect
import subprocess
import sys

import nbformat
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from ptcourse.lessons import distributed, gpu, loader_demos, samplers
from ptcourse.tools.conventions import GPU, tags
from ptcourse.tools.repo import REPO, SOLUTIONS

LESSON = SOLUTIONS / "05_dataloader_samplers.ipynb"
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="tests the behaviour without CUDA")


# --- samplers and datasets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False),
                                                      (1, 4, True), (0, 4, False)])
def test_index_batches_cover_every_index_once_in_tensors(n, batch_size, drop_last):
    sampler = samplers.IndexBatches(n, batch_size, drop_last=drop_last, generator=torch.Generator().manual_seed(0))
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert all(isinstance(b, torch.Tensor) and b.dtype == torch.long for b in batches)
    assert all(len(b) == batch_size for b in batches[:-1])
    flat = [i for b in batches for i in b.tolist()]
    kept = n - n % batch_size if drop_last else n
    assert len(flat) == len(set(flat)) == kept and set(flat) <= set(range(n))


def test_index_batches_shuffle_like_a_batch_sampler_and_anew_each_epoch():
    ordered = [b.tolist() for b in samplers.IndexBatches(10, 4, shuffle=False)]
    assert ordered == list(BatchSampler(range(10), 4, drop_last=False))
    shuffled = samplers.IndexBatches(10, 4, generator=torch.Generator().manual_seed(3))
    reference = BatchSampler(RandomSampler(range(10), generator=torch.Generator().manual_seed(3)), 4, drop_last=False)
    assert [b.tolist() for b in shuffled] == list(reference)
    assert [b.tolist() for b in shuffled] != [b.tolist() for b in shuffled]
    with pytest.raises(ValueError):
        samplers.IndexBatches(10, 0)


def test_tensor_batches_answer_a_list_or_a_tensor_of_indices_with_one_copy():
    X, y = torch.arange(12.0).reshape(6, 2), torch.arange(6)
    dataset = loader_demos.TensorBatches(X, y)
    for indices in ([4, 1], torch.tensor([4, 1])):
        features, targets = dataset[indices]
        assert torch.equal(features, X[[4, 1]]) and torch.equal(targets, y[[4, 1]])
        assert features.data_ptr() != X.data_ptr()
    loader = DataLoader(dataset, sampler=samplers.IndexBatches(6, 4, shuffle=False), batch_size=None)
    assert [b[1].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5]]


def test_by_name_needs_a_sampler_of_names():
    dataset = loader_demos.ByName({"a": 1, "b": 0})
    assert dataset["b"] == ("b", 0) and len(dataset) == 2
    with pytest.raises(KeyError):
        next(iter(DataLoader(dataset, batch_size=2)))
    texts, labels = next(iter(DataLoader(dataset, batch_size=2, sampler=["b", "a"])))
    assert list(texts) == ["b", "a"] and labels.tolist() == [0, 1]


def test_sharded_stream_without_ranks_is_the_whole_stream_in_one_process():
    assert list(distributed.ShardedStream(4, by_rank=False)) == [(0, 0), (1, 0), (2, 0), (3, 0)]


# --- the GPU cells' code ------------------------------------------------------------------------------------

MEASUREMENTS = [gpu.host_to_device, gpu.peak_pinned_bandwidth, gpu.loader_epochs, gpu.overlap,
                gpu.device_to_host_hazard, gpu.custom_batches, gpu.gpu_model]


@no_cuda
@pytest.mark.parametrize("measure", MEASUREMENTS, ids=lambda f: f.__name__)
def test_every_measurement_says_it_needs_cuda(measure):
    with pytest.raises(RuntimeError, match="needs a CUDA device"):
        measure()


def test_gpu_times_come_from_synchronized_clocks_or_cuda_events():
    assert "torch.cuda.synchronize()" in inspect.getsource(gpu.synchronized)
    events = inspect.getsource(gpu.gpu_milliseconds)
    assert events.count("torch.cuda.Event(enable_timing=True)") == 2 and "elapsed_time" in events
    assert "synchronized(" in inspect.getsource(gpu.host_to_device)
    assert "gpu_milliseconds(" in inspect.getsource(gpu.peak_pinned_bandwidth)
    assert "gpu_milliseconds(" in inspect.getsource(gpu.overlap)


def test_the_overlap_copies_on_a_second_stream_and_guards_its_batches():
    source = inspect.getsource(gpu.overlap)
    for needed in ("torch.cuda.Stream()", "with torch.cuda.stream(copy_stream)", "compute.wait_stream(copy_stream)",
                   "copy_stream.wait_stream(compute)", "x.record_stream(compute)", "pin_memory=True"):
        assert needed in source, needed


def test_the_hazard_reads_before_it_synchronizes():
    source = inspect.getsource(gpu.device_to_host_hazard)
    assert source.index('to("cpu", non_blocking=True)') < source.index("read_early") < source.index("copied.synchronize()")


def test_the_loader_comparison_differs_only_in_pin_memory():
    source = inspect.getsource(gpu.loader_epochs)
    assert "for pin in (False, True)" in source and "pin_memory=pin" in source and "persistent_workers=True" in source
    assert 'non_blocking=True' in source and "IndexBatches(" in source and "TensorBatches(" in source


def test_a_pinnable_batch_pins_every_tensor_and_the_loader_calls_it(monkeypatch):
    from torch.utils.data._utils.pin_memory import pin_memory as loader_pin_step

    pinned = []

    def fake_pin(self, *args, **kwargs):
        pinned.append(self)
        return self.clone()

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    samples = [(torch.ones(3), torch.tensor(1.0)), (torch.zeros(3), torch.tensor(0.0))]
    plain, pinnable = gpu.collate_plain(samples), gpu.collate_pinnable(samples)
    assert type(plain) is gpu.PlainBatch and plain.features.shape == (2, 3) and plain.targets.tolist() == [1.0, 0.0]
    assert loader_pin_step(plain) is plain and not pinned  # unknown type: returned unchanged, nothing pinned
    out = loader_pin_step(pinnable)
    assert type(out) is gpu.PinnableBatch and len(pinned) == 2
    assert torch.equal(out.features, pinnable.features) and out.features is not pinnable.features


def test_the_printers_label_every_number():
    def lines(fn, *args):
        import io
        from contextlib import redirect_stdout

        buffer = io.StringIO()
        with redirect_stdout(buffer):
            fn(*args)
        return buffer.getvalue()

    h2d = lines(gpu.print_host_to_device, {"pageable": 0.04, "pinned": 0.01, "pin + copy": 0.05,
                                           "call returns, pageable": 0.04, "call returns, pinned": 1e-5})
    assert "pageable → GPU" in h2d and "both charged" in h2d and "returns after" in h2d and "GB/s" in h2d
    loader = lines(gpu.print_loader_epochs, {"data already on the GPU": 0.1, "pin_memory=False": 0.4,
                                             "pin_memory=True": 0.3})
    assert "pin_memory=True is" in loader and "samples/s" in loader
    overlap = lines(gpu.print_overlap, {"copies": 10.0, "steps": 9.0, "serial": 19.5, "overlapped": 11.0,
                                        "matmuls per step": 2})
    assert "CUDA events" in overlap and "faster" in overlap and "at best" in overlap
    assert "early read is correct: False" in lines(gpu.print_device_to_host_hazard, {"early read is correct": False})
    batches = lines(gpu.print_custom_batches, {"with pin_memory()": {"type": "PinnableBatch", "pinned": True,
                                                                      "waited": 2e-5}})
    assert "PinnableBatch" in batches and "pinned True" in batches


def test_the_gpu_cells_call_the_module_and_print_one_line_without_cuda():
    cells = [c for c in nbformat.read(LESSON, as_version=4).cells if GPU in tags(c)]
    assert len(cells) == 5
    for cell in cells:
        assert cell.source.startswith("if torch.cuda.is_available():\n    gpu.") or "gpu.gpu_model()" in cell.source
        assert "else:\n    print(\"No CUDA device here:" in cell.source


@no_cuda
def test_the_benchmark_script_runs_the_gpu_cells():
    result = subprocess.run([sys.executable, "benchmarks/gpu_cells.py"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("--- cell ") == 5 and result.stdout.count("No CUDA device here") == 5, result.stdout
