"""Optimizers written by hand on tensors; ``torch.optim`` is their test oracle."""

from __future__ import annotations

import torch

from regcourse._checks import non_negative


class SGD(torch.optim.Optimizer):
    """SGD with momentum and coupled weight decay, the update of ``torch.optim.SGD``:

        g <- g + weight_decay * w;  b <- g (first step) or momentum * b + g;  w <- w - lr * b
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        lr = non_negative("lr", lr)
        momentum = non_negative("momentum", momentum)
        weight_decay = non_negative("weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g + group["weight_decay"] * p
                if group["momentum"]:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                    buf = state["momentum_buffer"]
                    g = g + group["momentum"] * buf if group["nesterov"] else buf
                p.sub_(group["lr"] * g)
        return loss
