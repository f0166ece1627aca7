"""Convolution, pooling and Unflatten: gradient checks, parity with torch.nn, devices, errors."""

import math
import re

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt
from regcourse.numpy.conv import add_windows_back, pad, unpad, window_matrix, windows


def to_torch_state(state):
    return {k: torch.tensor(v) for k, v in state.items()}


def twins(name, *args, **kwargs):
    """The NumPy layer and its torch twin (float64) with the same parameters."""
    np_layer = getattr(rnp, name)(*args, **kwargs)
    t_layer = getattr(rt, name)(*args, **kwargs).double()
    t_layer.load_state_dict(to_torch_state(np_layer.state_dict()))
    return np_layer, t_layer


def assert_matches_oracle(np_layer, t_layer, oracle, x, seed=0):
    """Outputs, input gradients and parameter gradients: NumPy and our torch against ``oracle``."""
    oracle = oracle.double()
    oracle.load_state_dict(to_torch_state(np_layer.state_dict()))
    tx = torch.tensor(x, requires_grad=True)
    y_ref = oracle(tx)
    dy = np.random.default_rng(seed).standard_normal(tuple(y_ref.shape))
    y_ref.backward(torch.tensor(dy))
    dx_ref = tx.grad.numpy()
    grads_ref = {name: p.grad.numpy() for name, p in oracle.named_parameters()}
    tol = dict(rtol=1e-10, atol=1e-12)

    np_layer.zero_grad()
    np.testing.assert_allclose(np_layer(x), y_ref.detach().numpy(), **tol)
    np.testing.assert_allclose(np_layer.backward(dy), dx_ref, **tol)
    for name, p in np_layer.named_parameters():
        np.testing.assert_allclose(p.grad, grads_ref[name], **tol, err_msg=name)

    tx = torch.tensor(x, requires_grad=True)
    y = t_layer(tx)
    y.backward(torch.tensor(dy))
    np.testing.assert_allclose(y.detach().numpy(), y_ref.detach().numpy(), **tol)
    np.testing.assert_allclose(tx.grad.numpy(), dx_ref, **tol)
    for name, p in t_layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_ref[name], **tol, err_msg=name)
    assert set(dict(t_layer.named_parameters())) == set(grads_ref)


# --- by hand -------------------------------------------------------------------------


def test_conv1d_and_max_pool_by_hand():
    """A difference kernel [1, 0, -1] and a max over pairs, computed on paper."""
    conv = rnp.Conv1d(1, 1, 3, bias=False)
    conv.weight.data[...] = [[[1.0, 0.0, -1.0]]]
    x = np.array([[[1.0, 2.0, 4.0, 7.0]]])
    np.testing.assert_array_equal(conv(x), [[[1 - 4, 2 - 7]]])
    np.testing.assert_array_equal(conv.backward(np.ones((1, 1, 2))), [[[1, 1, -1, -1]]])
    np.testing.assert_array_equal(conv.weight.grad, [[[1 + 2, 2 + 4, 4 + 7]]])
    pool = rnp.MaxPool1d(2)
    np.testing.assert_array_equal(pool(np.array([[[1.0, 3.0, 2.0, 0.0]]])), [[[3, 2]]])
    np.testing.assert_array_equal(pool.backward(np.array([[[5.0, 6.0]]])), [[[0, 5, 6, 0]]])


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = np.zeros((1, 1, 4))
    pool = rnp.MaxPool1d(2)
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 2))), [[[1, 0, 1, 0]]])
    tx = torch.zeros(1, 1, 4, requires_grad=True)
    rt.MaxPool1d(2)(tx).sum().backward()
    np.testing.assert_array_equal(tx.grad.numpy(), [[[1, 0, 1, 0]]])


# --- gradient checks -----------------------------------------------------------------

GRAD_CASES = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (2, 3, 4), dict(stride=2, padding=2), (2, 2, 10)),
    ("Conv1d", (2, 2, 5), dict(stride=3, padding=1, bias=False), (3, 2, 11)),
    ("Conv2d", (2, 3, 3), dict(stride=2, padding=1), (2, 2, 6, 7)),
    ("Conv2d", (2, 2, (2, 3)), dict(stride=(1, 2), padding=(2, 0)), (2, 2, 5, 6)),
    ("MaxPool1d", (2,), {}, (2, 3, 8)),
    ("MaxPool1d", (3,), dict(stride=2), (2, 3, 9)),
    ("MaxPool2d", (2,), {}, (2, 2, 6, 5)),
    ("MaxPool2d", (3,), dict(stride=(1, 2)), (2, 2, 5, 6)),
    ("GlobalAvgPool", (), {}, (3, 4, 7)),
    ("GlobalAvgPool", (), {}, (2, 3, 4, 5)),
    ("Unflatten", (1, (2, 6)), {}, (3, 12)),
    ("Unflatten", (-1, (3, -1)), {}, (2, 2, 9)),
]


@pytest.mark.parametrize(
    "name, args, kwargs, shape", GRAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)]
)
def test_gradient_check(name, args, kwargs, shape):
    rnp.manual_seed(0)
    layer = getattr(rnp, name)(*args, **kwargs)
    x = np.random.default_rng(1).standard_normal(shape)
    errors = rnp.check_module_gradients(layer, x)
    expected = {"input"} | {n for n, _ in layer.named_parameters()}
    assert set(errors) == expected and max(errors.values()) < 1e-6, errors


# --- im2col and col2im against loops over the output positions -------------------------

WINDOW_CASES = [  # input shape (N, C, *spatial), kernel, stride
    ((2, 3, 9), (3,), (1,)),
    ((2, 2, 11), (4,), (3,)),
    ((3, 1, 12), (5,), (2,)),
    ((2, 2, 7, 8), (3, 2), (2, 1)),
    ((1, 3, 6, 5), (2, 2), (2, 2)),
]
WINDOW_IDS = [f"{len(k)}d-k{k}-s{s}" for _, k, s in WINDOW_CASES]


def out_positions(spatial, kernel, stride):
    return tuple((size - k) // s + 1 for size, k, s in zip(spatial, kernel, stride))


def window_matrix_by_loops(x, kernel, stride):
    """X[(c, j), (n, t)] = x[n, c, s*t + j], one output position t and offset j at a time."""
    n, c, *spatial = x.shape
    out = out_positions(spatial, kernel, stride)
    X = np.empty((c, *kernel, n, *out))
    for t in np.ndindex(*out):
        for j in np.ndindex(*kernel):
            source = tuple(s * t_i + j_i for s, t_i, j_i in zip(stride, t, j))
            X[(slice(None), *j, slice(None), *t)] = x[(slice(None), slice(None), *source)].T
    return X.reshape(c * math.prod(kernel), n * math.prod(out))


def add_windows_back_by_loops(dwindows, shape, stride):
    """dx[n, c, s*t + j] += dwindows[n, c, t, j], one output position t and offset j at a time."""
    n_spatial = len(stride)
    out, kernel = dwindows.shape[2 : 2 + n_spatial], dwindows.shape[2 + n_spatial :]
    dx = np.zeros(shape)
    for t in np.ndindex(*out):
        for j in np.ndindex(*kernel):
            target = tuple(s * t_i + j_i for s, t_i, j_i in zip(stride, t, j))
            dx[(slice(None), slice(None), *target)] += dwindows[(slice(None), slice(None), *t, *j)]
    return dx


@pytest.mark.parametrize("shape, kernel, stride", WINDOW_CASES, ids=WINDOW_IDS)
def test_window_matrix_equals_the_loop_over_positions(shape, kernel, stride):
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(
        window_matrix(x, kernel, stride), window_matrix_by_loops(x, kernel, stride)
    )


@pytest.mark.parametrize("shape, kernel, stride", WINDOW_CASES, ids=WINDOW_IDS)
def test_add_windows_back_equals_the_loop_and_is_the_adjoint_of_windows(shape, kernel, stride):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    out = out_positions(shape[2:], kernel, stride)
    dwindows = rng.standard_normal(shape[:2] + out + kernel)
    dx = add_windows_back(dwindows, shape, stride)
    np.testing.assert_allclose(
        dx, add_windows_back_by_loops(dwindows, shape, stride), rtol=1e-13, atol=1e-13
    )
    # <windows(x), d> = <x, add_windows_back(d)>: col2im is the transpose of im2col
    assert np.sum(windows(x, kernel, stride) * dwindows) == pytest.approx(np.sum(x * dx), 1e-12)


@pytest.mark.parametrize("padding", [(0,), (2,), (1, 3), (0, 2)])
def test_pad_equals_np_pad_and_unpad_undoes_it(padding):
    x = np.random.default_rng(2).standard_normal((2, 3) + (5, 4)[: len(padding)])
    padded = pad(x, padding)
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding]))
    np.testing.assert_array_equal(unpad(padded, padding), x)


def conv_by_loops(x, weight, bias, stride, padding, dout):
    """The module docstring's sums, one output position at a time: y, dL/dx, dL/dW, dL/db."""
    x_p = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    kernel, out = weight.shape[2:], dout.shape[2:]
    y = np.zeros(dout.shape) + bias.reshape((-1,) + (1,) * len(kernel))
    dx_p, dweight = np.zeros_like(x_p), np.zeros_like(weight)
    for t in np.ndindex(*out):
        window = tuple(slice(s * t_i, s * t_i + k) for s, t_i, k in zip(stride, t, kernel))
        x_window = x_p[(slice(None), slice(None), *window)]  # (N, C_in, *k)
        flat_x, flat_w = x_window.reshape(len(x), -1), weight.reshape(len(weight), -1)
        g = dout[(slice(None), slice(None), *t)]  # (N, C_out)
        y[(slice(None), slice(None), *t)] += flat_x @ flat_w.T
        dweight += (g.T @ flat_x).reshape(weight.shape)
        dx_p[(slice(None), slice(None), *window)] += (g @ flat_w).reshape(x_window.shape)
    dbias = dout.sum(axis=(0, *range(2, dout.ndim)))
    return y, unpad(dx_p, padding), dweight, dbias


@pytest.mark.parametrize(
    "name, c_in, c_out, kernel, stride, padding, shape",
    [
        ("Conv1d", 1, 25, 5, 2, 1, (4, 1, 40)),  # the paper CNN's first layer
        ("Conv1d", 25, 25, 3, 2, 1, (4, 25, 19)),  # ... and its second
        ("Conv1d", 3, 2, 4, 3, 2, (2, 3, 11)),
        ("Conv2d", 2, 3, (3, 2), (2, 1), (1, 0), (2, 2, 7, 6)),
    ],
)
def test_conv_forward_and_backward_equal_the_sums_computed_by_loops(
    name, c_in, c_out, kernel, stride, padding, shape
):
    rnp.manual_seed(3)
    layer = getattr(rnp, name)(c_in, c_out, kernel, stride=stride, padding=padding)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    y = layer(x)
    dout = rng.standard_normal(y.shape)
    layer.zero_grad()
    dx = layer.backward(dout)
    expected = conv_by_loops(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding, dout
    )
    for ours, reference in zip((y, dx, layer.weight.grad, layer.bias.grad), expected):
        np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)


# --- parity with torch.nn --------------------------------------------------------------

CONV1D_CASES = [  # in, out, kernel, stride, padding, length
    (1, 4, 1, 1, 0, 8),
    (3, 5, 3, 1, 1, 10),
    (2, 3, 5, 2, 2, 11),
    (4, 2, 4, 3, 1, 16),
    (3, 3, 2, 2, 0, 7),
    (2, 6, 5, 3, 2, 9),
]


@pytest.mark.parametrize("c_in, c_out, k, s, p, length", CONV1D_CASES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_conv1d_matches_torch_nn(c_in, c_out, k, s, p, length, bias):
    np_layer, t_layer = twins("Conv1d", c_in, c_out, k, stride=s, padding=p, bias=bias)
    oracle = torch.nn.Conv1d(c_in, c_out, k, stride=s, padding=p, bias=bias)
    x = np.random.default_rng(length).standard_normal((3, c_in, length))
    assert_matches_oracle(np_layer, t_layer, oracle, x)


CONV2D_CASES = [  # in, out, kernel, stride, padding, (H, W)
    (1, 3, 3, 1, 0, (6, 6)),
    (2, 4, 3, 2, 1, (7, 8)),
    (3, 2, 5, 3, 2, (9, 10)),
    (2, 2, 1, 2, 0, (5, 4)),
    (2, 3, (2, 4), (1, 3), (2, 1), (6, 9)),
]


@pytest.mark.parametrize("c_in, c_out, k, s, p, hw", CONV2D_CASES)
def test_conv2d_matches_torch_nn(c_in, c_out, k, s, p, hw):
    np_layer, t_layer = twins("Conv2d", c_in, c_out, k, stride=s, padding=p)
    oracle = torch.nn.Conv2d(c_in, c_out, k, stride=s, padding=p)
    x = np.random.default_rng(sum(hw)).standard_normal((2, c_in) + hw)
    assert_matches_oracle(np_layer, t_layer, oracle, x)


POOL_CASES = [  # name, kernel, stride, spatial shape
    ("MaxPool1d", 2, None, (8,)),
    ("MaxPool1d", 3, None, (10,)),
    ("MaxPool1d", 3, 2, (9,)),
    ("MaxPool1d", 4, 1, (7,)),
    ("MaxPool1d", 5, 3, (12,)),
    ("MaxPool2d", 2, None, (6, 7)),
    ("MaxPool2d", 3, 2, (7, 8)),
    ("MaxPool2d", (2, 3), (1, 2), (5, 9)),
]


@pytest.mark.parametrize("name, k, s, spatial", POOL_CASES)
def test_max_pool_matches_torch_nn(name, k, s, spatial):
    np_layer, t_layer = twins(name, k, stride=s)
    oracle = getattr(torch.nn, name)(k, stride=s)
    x = np.random.default_rng(len(spatial)).standard_normal((3, 4) + spatial)
    assert_matches_oracle(np_layer, t_layer, oracle, x)


@pytest.mark.parametrize("shape", [(3, 4, 7), (2, 3, 4, 5), (2, 3, 1)])
def test_global_avg_pool_matches_adaptive_avg_pool(shape):
    adaptive = torch.nn.AdaptiveAvgPool1d(1) if len(shape) == 3 else torch.nn.AdaptiveAvgPool2d(1)
    oracle = torch.nn.Sequential(adaptive, torch.nn.Flatten())
    x = np.random.default_rng(0).standard_normal(shape)
    assert_matches_oracle(rnp.GlobalAvgPool(), rt.GlobalAvgPool(), oracle, x)


@pytest.mark.parametrize(
    "dim, sizes, shape", [(1, (1, 40), (3, 40)), (1, (2, -1), (3, 8, 2)), (-1, (2, 3), (4, 2, 6))]
)
def test_unflatten_matches_torch_nn(dim, sizes, shape):
    oracle = torch.nn.Unflatten(dim, sizes)
    x = np.random.default_rng(0).standard_normal(shape)
    assert_matches_oracle(rnp.Unflatten(dim, sizes), rt.Unflatten(dim, sizes), oracle, x)


@pytest.mark.parametrize("name, k", [("Conv1d", 5), ("Conv2d", 3)])
def test_conv_initialization_equals_torch_nn(name, k):
    """The twin draws as torch.nn does (same seed, same weights); NumPy uses the same bound."""
    torch.manual_seed(0)
    ours = getattr(rt, name)(6, 8, k)
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(6, 8, k)
    torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ours.bias, ref.bias, rtol=1e-6, atol=1e-7)
    rnp.manual_seed(0)
    np_layer = getattr(rnp, name)(6, 8, k)
    bound = 1 / np.sqrt(6 * k ** (1 if name == "Conv1d" else 2))
    assert np.abs(np_layer.bias.data).max() <= bound
    assert 0.9 * bound < np.abs(np_layer.weight.data).max() <= bound  # 288 or more draws
    assert np_layer.weight.shape == tuple(ref.weight.shape)


# --- state dicts and devices -----------------------------------------------------------


def small_cnn(lib, length=12, classes=3, **factory):
    return lib.Sequential(
        lib.Unflatten(1, (1, length)),
        lib.Conv1d(1, 4, 3, padding=1, **factory),
        lib.ReLU(),
        lib.MaxPool1d(2),
        lib.Conv1d(4, 6, 3, stride=2, **factory),
        lib.ReLU(),
        lib.GlobalAvgPool(),
        lib.Linear(6, classes, **factory),
    )


def test_state_dict_round_trip_numpy_torch_numpy():
    rnp.manual_seed(0)
    np_model = small_cnn(rnp)
    t_model = small_cnn(rt, dtype=torch.float64)
    state = np_model.state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in t_model.state_dict().items()
    }
    t_model.load_state_dict(to_torch_state(state))
    rnp.manual_seed(1)
    back = small_cnn(rnp).load_state_dict(t_model.state_dict())
    for name, value in back.state_dict().items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    x = np.random.default_rng(0).standard_normal((5, 12))
    np.testing.assert_allclose(back(x), t_model(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_torch_twins_run_forward_and_backward_on_meta_device():
    """The meta device has no data: any tensor made on the CPU by accident fails loudly."""
    model = small_cnn(rt, device="meta")
    x = torch.empty(4, 12, device="meta", requires_grad=True)
    out = model(x)
    assert out.shape == (4, 3) and out.device.type == "meta"
    out.sum().backward()
    assert x.grad.device.type == "meta"
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters())
    images = torch.nn.Sequential(
        rt.Conv2d(3, 4, 3, stride=2, padding=1, device="meta"), rt.MaxPool2d(2), rt.GlobalAvgPool()
    )
    x = torch.empty(2, 3, 9, 8, device="meta", requires_grad=True)
    images(x).sum().backward()
    assert images(x).shape == (2, 4) and x.grad.device.type == "meta"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_twins_on_cuda_match_cpu():
    torch.manual_seed(0)
    model = small_cnn(rt, dtype=torch.float64)
    x = torch.randn(8, 12, dtype=torch.float64)
    expected = model(x)
    torch.testing.assert_close(
        model.to("cuda")(x.to("cuda")).cpu(), expected, rtol=1e-10, atol=1e-12
    )


def test_numpy_and_torch_fit_agree_on_a_small_cnn():
    """Same initial weights, same mini-batch order, float64: the same two epochs."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    X = rng.standard_normal((120, 12)) + np.sin(np.arange(12) * (y[:, None] + 1) / 2)
    train, val = (X[:96], y[:96]), (X[96:], y[96:])
    rnp.manual_seed(0)
    np_model = small_cnn(rnp)
    t_model = small_cnn(rt, dtype=torch.float64)
    t_model.load_state_dict(to_torch_state(np_model.state_dict()))
    h_np = rnp.fit(
        np_model,
        rnp.CrossEntropyLoss(),
        rnp.Adam(np_model.parameters(), lr=1e-2),
        train,
        val,
        2,
        16,
        seed=3,
    )
    h_t = rt.fit(
        t_model,
        rt.CrossEntropyLoss(),
        rt.Adam(t_model.parameters(), lr=1e-2),
        train,
        val,
        2,
        16,
        seed=3,
    )
    assert h_np.train_loss[-1] < h_np.train_loss[0]
    np.testing.assert_allclose(h_np.train_loss, h_t.train_loss, rtol=1e-8)
    np.testing.assert_allclose(h_np.val_loss, h_t.val_loss, rtol=1e-8)
    assert h_np.train_acc == h_t.train_acc and h_np.val_acc == h_t.val_acc
    for name, value in np_model.state_dict().items():
        np.testing.assert_allclose(
            value, t_model.state_dict()[name].numpy(), rtol=1e-8, atol=1e-10, err_msg=name
        )


# --- bad input -------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("Conv1d", (0, 3, 3), {}, "in_channels must be a positive integer, got 0"),
    ("Conv1d", (3, -2, 3), {}, "out_channels must be a positive integer, got -2"),
    ("Conv1d", (3, 3, 0), {}, "kernel_size must be a positive integer, got 0"),
    ("Conv1d", (3, 3, 2.5), {}, "kernel_size must be a positive integer, got 2.5"),
    ("Conv1d", (3, 3, 3), dict(stride=0), "stride must be a positive integer, got 0"),
    ("Conv1d", (3, 3, 3), dict(padding=-1), "padding must be an integer >= 0, got -1"),
    ("Conv2d", (3, 3, (3, 3, 3)), {}, r"kernel_size must be an int or a tuple of 2 ints"),
    ("Conv2d", (3, 3, 3), dict(padding=(1, -1)), "padding entries must be an integer >= 0"),
    ("MaxPool1d", (0,), {}, "kernel_size must be a positive integer, got 0"),
    ("MaxPool2d", (2,), dict(stride=0), "stride must be a positive integer, got 0"),
    ("MaxPool1d", (2,), dict(padding=1), r"MaxPool1d supports only padding=0 \(no padding\)"),
    ("Unflatten", (1, (0, 4)), {}, r"positive integers \(or one -1\)"),
    ("Unflatten", (1, (-1, -1)), {}, "at most one -1"),
    ("Unflatten", (1, 4), {}, "unflattened_size must be a non-empty tuple of ints, got 4"),
    ("Unflatten", (1.0, (2, 2)), {}, "dim must be an integer"),
]


@pytest.mark.parametrize("lib", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize(
    "name, args, kwargs, message",
    BAD_ARGUMENTS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_ARGUMENTS)],
)
def test_bad_arguments_raise(lib, name, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(lib, name)(*args, **kwargs)


BAD_INPUTS = [
    (
        "Conv1d",
        (3, 4, 3),
        (2, 3),
        r"Conv1d\(3, 4, .*\) expects a 3-D input \(batch, channels, length\), got shape \(2, 3\)",
    ),
    (
        "Conv2d",
        (3, 4, 3),
        (2, 3, 8),
        r"expects a 4-D input \(batch, channels, height, width\), got shape \(2, 3, 8\)",
    ),
    (
        "Conv1d",
        (3, 4, 3),
        (2, 2, 8),
        r"expects 3 input channels, got 2 \(input shape \(2, 2, 8\)\)",
    ),
    (
        "Conv1d",
        (3, 4, 5, 1, 1),
        (2, 3, 2),
        r"kernel_size \(5,\) is larger than the padded input \(4,\) "
        r"\(input \(2,\) plus padding \(1,\)",
    ),
    (
        "Conv2d",
        (1, 1, 3),
        (1, 1, 5, 2),
        r"kernel_size \(3, 3\) is larger than the padded input \(5, 2\)",
    ),
    (
        "MaxPool1d",
        (3,),
        (2, 3, 2),
        r"MaxPool1d.*kernel_size \(3,\) is larger than the padded input \(2,\)",
    ),
    ("MaxPool2d", (2,), (2, 3, 8), r"MaxPool2d.* expects a 4-D input"),
    ("GlobalAvgPool", (), (4, 5), r"at least 3 dimensions, got shape \(4, 5\)"),
    ("Unflatten", (1, (3, 4)), (2, 10), r"size 10 into \(3, 4\): the sizes must multiply to 10"),
    ("Unflatten", (1, (3, -1)), (2, 10), "10 is not a multiple of 3"),
    ("Unflatten", (2, (1, 2)), (2, 2), r"dim must lie in \[-2, 1\]"),
]


@pytest.mark.parametrize("lib", [rnp, rt], ids=["numpy", "torch"])
@pytest.mark.parametrize(
    "name, args, shape, message", BAD_INPUTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUTS)]
)
def test_bad_inputs_raise(lib, name, args, shape, message):
    x = np.ones(shape) if lib is rnp else torch.ones(shape)
    with pytest.raises(ValueError, match=message):
        getattr(lib, name)(*args)(x)


LAYERS = [
    ("Conv1d", (2, 3, 3), (2, 2, 6)),
    ("Conv2d", (2, 3, 3), (2, 2, 5, 5)),
    ("MaxPool1d", (2,), (2, 2, 6)),
    ("MaxPool2d", (2,), (2, 2, 4, 4)),
    ("GlobalAvgPool", (), (2, 2, 6)),
    ("Unflatten", (1, (2, 3)), (2, 6)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_numpy_backward_checks_its_input(name, args, shape):
    layer = getattr(rnp, name)(*args)
    with pytest.raises(RuntimeError, match=f"{name}.backward called before forward"):
        layer.backward(np.ones(shape))
    out = layer(np.ones(shape))
    wrong = out.shape[:-1] + (out.shape[-1] + 1,)
    message = re.escape(f"forward output's shape {out.shape}, got {wrong}")
    with pytest.raises(ValueError, match=message):
        layer.backward(np.ones(wrong))
    assert layer.backward(np.ones(out.shape)).shape == shape


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("Conv1d", (3, 8, 5), {}),
        ("Conv1d", (1, 4, 3), dict(stride=2, padding=1)),
        ("Conv2d", (3, 8, 3), dict(padding=1, bias=False)),
        ("Conv2d", (2, 2, (2, 3)), dict(stride=(1, 2), padding=(2, 0))),
    ],
)
def test_conv_repr_is_torch_nn_repr_on_both_sides(name, args, kwargs):
    expected = repr(getattr(torch.nn, name)(*args, **kwargs))
    assert repr(getattr(rnp, name)(*args, **kwargs)) == expected
    assert repr(getattr(rt, name)(*args, **kwargs)) == expected


@pytest.mark.parametrize("name", ["Conv1d", "Conv2d"])
def test_conv_reset_parameters_restores_the_initial_weights_given_the_same_seed(name):
    rnp.manual_seed(5)
    layer = getattr(rnp, name)(2, 3, 3)
    initial = layer.state_dict()
    layer.weight.data[...] = 0.0
    layer.bias.data[...] = 0.0
    rnp.manual_seed(5)
    layer.reset_parameters()
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, initial[key])
    layer.reset_parameters(np.random.default_rng(1))
    again = layer.state_dict()
    layer.reset_parameters(1)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, again[key])

    torch.manual_seed(5)
    t_layer = getattr(rt, name)(2, 3, 3)
    t_initial = {k: v.clone() for k, v in t_layer.state_dict().items()}
    with torch.no_grad():
        t_layer.weight.zero_()
    torch.manual_seed(5)
    t_layer.reset_parameters()
    for key, value in t_layer.state_dict().items():
        torch.testing.assert_close(value, t_initial[key], rtol=0, atol=0)


def test_pooling_reprs_agree_between_the_sides():
    expected = "MaxPool1d(kernel_size=(2,), stride=(2,))"
    assert repr(rnp.MaxPool1d(2)) == repr(rt.MaxPool1d(2)) == expected
    assert repr(rnp.MaxPool2d(2, 1)) == repr(rt.MaxPool2d(2, 1))
    assert repr(rnp.GlobalAvgPool()) == repr(rt.GlobalAvgPool()) == "GlobalAvgPool()"
