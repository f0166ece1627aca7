"""The building blocks: Parameter, Module, Linear, activations, Sequential.

A tiny ``torch.nn`` in NumPy. Every layer has

- ``forward(x)`` (also ``layer(x)``), which keeps what ``backward`` needs;
- ``backward(dout) -> dx``, which returns d loss / d input and *adds*
  d loss / d parameter into each parameter's ``.grad`` (as PyTorch accumulates);
- ``parameters()``, ``named_parameters()``, ``state_dict()``, ``load_state_dict()``,
  ``zero_grad()``, ``train()`` and ``eval()``;
- a layer with parameters has ``reset_parameters(generator=None)``, which draws
  them again in place (the constructor calls it), as ``torch.nn``'s layers do;
- ``repr(layer)`` is built as torch's: the class name around ``extra_repr()``,
  and each child on a line of its own, so ``print(model)`` reads as in PyTorch.

Everything computes in float64, so gradient checks are precise.
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import positive_int
from regcourse._shapes import flat_shape, unflatten_arguments, unflatten_shape
from regcourse.numpy.random import generator

DTYPE = np.float64


def as_generator(generator_or_seed=None) -> np.random.Generator:
    """The generator ``reset_parameters`` draws from.

    None: the NumPy side's shared generator (``regcourse.numpy.random``, seeded by
    ``manual_seed``), as torch's layers draw from torch's global random state;
    an int: a new ``np.random.default_rng(seed)``; a ``np.random.Generator``: itself.
    """
    if generator_or_seed is None:
        return generator()
    if isinstance(generator_or_seed, np.random.Generator):
        return generator_or_seed
    if isinstance(generator_or_seed, (int, np.integer)) and not isinstance(generator_or_seed, bool):
        return np.random.default_rng(int(generator_or_seed))
    raise ValueError(
        "generator must be None, an int seed or a np.random.Generator, "
        f"got {type(generator_or_seed).__name__}"
    )


def _add_indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (torch.nn.modules.module._addindent)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


class Parameter:
    """A learnable array: ``.data`` and its gradient ``.grad`` (same shape)."""

    def __init__(self, data):
        self.data = np.array(data, dtype=DTYPE)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self):
        return self.data.shape

    def zero_grad(self):
        self.grad[...] = 0.0

    def __repr__(self):
        return f"Parameter(shape={self.data.shape})"


class Module:
    """Base class. Parameters and sub-modules are found from the attributes.

    Subclasses may list array attributes that are state but not learnable
    (e.g. batch norm's running mean) in ``_buffer_names``; they are saved in
    ``state_dict`` like PyTorch's buffers.

    One layer object, one place in the model. ``forward`` keeps what ``backward``
    needs in the layer itself (one cache per layer), so a layer used twice in one
    forward pass (weight tying) would see its first cache overwritten by the second
    and get wrong gradients. ``Sequential`` and ``fit`` therefore refuse a model in
    which the same module instance appears twice (see ``check_no_shared_modules``);
    use two layers, or the torch side, whose autograd handles tied weights.
    As in torch, ``parameters()``, ``named_parameters()`` and ``modules()`` list a
    shared object once, so an optimizer never steps a parameter twice.
    """

    _buffer_names: tuple[str, ...] = ()
    training: bool = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    # --- walking the tree of modules -------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def _all_named_parameters(self, prefix: str = ""):
        """Every (name, parameter), a shared parameter once under each of its names."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._all_named_parameters(prefix + name + ".")

    def named_parameters(self, prefix: str = ""):
        """(name, parameter) pairs; a parameter reached twice is listed once (as in torch)."""
        seen = set()
        for name, p in self._all_named_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def parameters(self):
        """The learnable parameters, each object once."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = ""):
        for name in self._buffer_names:
            value = getattr(self, name)
            if value is not None:
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def _all_modules(self):
        """This module and every sub-module, a shared one as often as it is reached."""
        yield self
        for _, child in self.named_children():
            yield from child._all_modules()

    def modules(self):
        """This module and every sub-module, each object once (as in torch)."""
        seen = set()
        for module in self._all_modules():
            if id(module) not in seen:
                seen.add(id(module))
                yield module

    # --- modes and gradients -----------------------------------------------
    def train(self, mode: bool = True):
        """Switch this module and every sub-module to training mode; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Switch to evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    # --- printing, as torch.nn.Module prints -------------------------------
    def extra_repr(self) -> str:
        """This module's own settings, shown inside its repr; "" for none (as in torch)."""
        return ""

    def __repr__(self):
        """``Name(extra_repr)``, or one line per child: torch.nn.Module's format."""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [
            f"({name}): {_add_indent(repr(child), 2)}" for name, child in self.named_children()
        ]
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        if not lines and not children:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines + children) + "\n)"

    # --- saving and loading, with torch.nn's names -------------------------
    def state_dict(self) -> dict:
        """Copies of all parameters and buffers, named as torch.nn names them."""
        state = {name: p.data.copy() for name, p in self._all_named_parameters()}
        state.update({name: np.array(b, copy=True) for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict):
        """Copy arrays (NumPy arrays or torch tensors) into this module, in place."""
        own = dict(self._all_named_parameters())
        buffers = dict(self.named_buffers())
        expected = set(own) | set(buffers)
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise ValueError(
                f"state_dict keys do not match: missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)}"
            )
        for name, value in state.items():
            array = _to_numpy(value)
            target = own[name].data if name in own else buffers[name]
            if array.shape != np.shape(target):
                raise ValueError(
                    f"shape mismatch for {name!r}: model has {np.shape(target)}, "
                    f"state has {array.shape}"
                )
            target[...] = array
        return self


def _to_numpy(value) -> np.ndarray:
    """A NumPy array from an array or a torch tensor (on any device)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_no_shared_modules(model: Module, where: str = "the model") -> Module:
    """Raise ValueError if one module instance appears twice in ``model``; return ``model``.

    The NumPy layers keep one cache per layer (see ``Module``), so a layer reached
    twice would get wrong gradients.
    """
    seen = set()
    for module in model._all_modules():
        if id(module) in seen:
            raise ValueError(
                f"{where} contains the same {type(module).__name__} instance twice: "
                "the NumPy reference keeps one cache per layer, so a layer cannot be used "
                "twice; use two layers, or the torch side for weight tying"
            )
        seen.add(id(module))
    return model


def _require_forward(cache, layer: Module):
    if cache is None:
        raise RuntimeError(
            f"{type(layer).__name__}.backward called before forward: run forward(x) first"
        )


def _check_upstream(dout, shape, layer: Module) -> np.ndarray:
    """``dout`` as a float64 array, which must have the shape of the last forward output."""
    dout = np.asarray(dout, dtype=DTYPE)
    if dout.shape != tuple(shape):
        raise ValueError(
            f"{type(layer).__name__}.backward expects dout of the forward output's shape "
            f"{tuple(shape)}, got {dout.shape} (dout is d loss / d output: one entry per "
            "output value, never broadcast)"
        )
    return dout


class Linear(Module):
    """y = x W^T + b, with ``weight`` W of shape (out, in) and ``bias`` b of shape (out,).

    Initialized as ``torch.nn.Linear``: W and b uniform in [-1/sqrt(in), 1/sqrt(in)].
    Backward, for upstream gradient G = dL/dy of shape (N, out):
    dL/dW = G^T x,  dL/db = sum_n G_n,  dL/dx = G W.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        self.in_features = positive_int("in_features", in_features)
        self.out_features = positive_int("out_features", out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features)))
        self.bias = Parameter(np.empty(self.out_features)) if bias else None
        self.reset_parameters()
        self._x = None

    def reset_parameters(self, generator=None):
        """Draw W, then b, again, in place, uniform in [-1/sqrt(in), 1/sqrt(in)].

        ``generator``: None (the shared generator, see ``manual_seed``), an int
        seed or a ``np.random.Generator``; see ``as_generator``.
        """
        rng = as_generator(generator)
        bound = 1.0 / np.sqrt(self.in_features)
        self.weight.data[...] = rng.uniform(-bound, bound, size=self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = rng.uniform(-bound, bound, size=self.bias.shape)

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects input of shape "
                f"(batch, {self.in_features}), got {x.shape}"
            )
        self._x = x
        out = x @ self.weight.data.T
        if self.bias is not None:
            out = out + self.bias.data
        return out

    def backward(self, dout):
        _require_forward(self._x, self)
        dout = _check_upstream(dout, (len(self._x), self.out_features), self)
        self.weight.grad += dout.T @ self._x
        if self.bias is not None:
            self.bias.grad += dout.sum(axis=0)
        return dout @ self.weight.data

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """relu(x) = max(x, 0); its gradient passes where x > 0."""

    def __init__(self):
        self._mask = None

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        self._mask = x > 0
        return np.where(self._mask, x, 0.0)

    def backward(self, dout):
        _require_forward(self._mask, self)
        return _check_upstream(dout, self._mask.shape, self) * self._mask


class Tanh(Module):
    """tanh(x); d tanh / dx = 1 - tanh(x)^2."""

    def __init__(self):
        self._y = None

    def forward(self, x):
        self._y = np.tanh(np.asarray(x, dtype=DTYPE))
        return self._y

    def backward(self, dout):
        _require_forward(self._y, self)
        return _check_upstream(dout, self._y.shape, self) * (1.0 - self._y**2)


class Flatten(Module):
    """Flattens every dimension after the batch one: (N, d1, d2, ...) -> (N, d1 * d2 * ...).

    The feature count is computed, not inferred (-1), so an empty batch (0, ...) gives
    (0, d1 * d2 * ...), as ``torch.nn.Flatten``.
    """

    def __init__(self):
        self._shape = None

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        if x.ndim < 1:
            raise ValueError(f"Flatten expects an input (batch, ...), got a scalar {x!r}")
        self._shape = x.shape
        return x.reshape(flat_shape(x.shape))

    def backward(self, dout):
        _require_forward(self._shape, self)
        return _check_upstream(dout, flat_shape(self._shape), self).reshape(self._shape)


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``.

    ``Unflatten(1, (1, 40))`` turns a batch of signals (N, 40) into (N, 1, 40), the
    one-channel input a ``Conv1d`` expects. One size may be -1 (inferred).
    Backward reshapes the gradient back to the input's shape.
    """

    def __init__(self, dim: int, unflattened_size):
        self.dim, self.unflattened_size = unflatten_arguments(dim, unflattened_size)
        self._shapes = None

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        out_shape = unflatten_shape(x.shape, self.dim, self.unflattened_size)
        self._shapes = (x.shape, out_shape)
        return x.reshape(out_shape)

    def backward(self, dout):
        _require_forward(self._shapes, self)
        in_shape, out_shape = self._shapes
        return _check_upstream(dout, out_shape, self).reshape(in_shape)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    Indexable (``model[0]``), with the layers in ``.layers``; parameters are
    named ``"0.weight"``, ``"0.bias"``, ... exactly as in ``torch.nn.Sequential``.

    Each layer object may appear only once (also inside nested modules): the NumPy
    layers keep one cache per layer, so ``Sequential(layer, layer)`` would get wrong
    gradients and raises ValueError. For weight tying use the torch side.
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ValueError(
                    f"Sequential takes Module instances; argument {i} is {type(layer).__name__}"
                )
        self.layers = list(layers)
        check_no_shared_modules(self, "Sequential")

    def named_children(self):
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, index):
        """``model[i]`` is a layer; ``model[i:j]`` is a Sequential of those layers
        (sharing them)."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)


def mlp(sizes, activation=ReLU) -> Sequential:
    """A multilayer perceptron: Linear layers of the given sizes with ``activation`` between.

    ``mlp([64, 128, 10])`` is ``Sequential(Linear(64, 128), ReLU(), Linear(128, 10))``.
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {list(sizes)}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return Sequential(*layers)
