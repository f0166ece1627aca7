"""The PyTorch counterparts of ``regcourse.numpy``: same names, same arguments, any device.

Each layer is written from tensor operations; ``torch.nn``'s built-ins are the
oracles the tests compare against. Tensors are always created like their
inputs, so models run on the CPU, on CUDA, or on the ``meta`` device.
"""

from regcourse.torch.conv import Conv1d, Conv2d, GlobalAvgPool, MaxPool1d, MaxPool2d
from regcourse.torch.core import Flatten, Linear, ReLU, Sequential, Tanh, Unflatten, mlp
from regcourse.torch.device import default_device
from regcourse.torch.dropout import SELU, AlphaDropout, Dropout, GaussianDropout, mc_predict
from regcourse.torch.losses import CrossEntropyLoss, MSELoss, log_softmax, softmax
from regcourse.torch.multitask import (
    MultiTaskLoss,
    MultiTaskModel,
    evaluate_multitask,
    fit_multitask,
)
from regcourse.torch.noise import GaussianNoise
from regcourse.torch.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from regcourse.torch.optim import SGD, Adam, AdamW, ProximalSGD
from regcourse.torch.penalties import L1, L2, ElasticNet, MaxNorm, soft_threshold
from regcourse.torch.train import accuracy, evaluate, fit, load_numpy_state, predict
from regcourse.training import EarlyStopping, Mixup, load_checkpoint, save_checkpoint

__all__ = [
    "Linear",
    "ReLU",
    "Tanh",
    "Flatten",
    "Unflatten",
    "Sequential",
    "mlp",
    "Conv1d",
    "Conv2d",
    "MaxPool1d",
    "MaxPool2d",
    "GlobalAvgPool",
    "CrossEntropyLoss",
    "MSELoss",
    "softmax",
    "log_softmax",
    "SGD",
    "Adam",
    "AdamW",
    "ProximalSGD",
    "L1",
    "L2",
    "ElasticNet",
    "soft_threshold",
    "fit",
    "predict",
    "evaluate",
    "accuracy",
    "EarlyStopping",
    "default_device",
    "MaxNorm",
    "Mixup",
    "save_checkpoint",
    "load_checkpoint",
    "load_numpy_state",
    "GaussianNoise",
    "Dropout",
    "GaussianDropout",
    "AlphaDropout",
    "SELU",
    "mc_predict",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "MultiTaskModel",
    "MultiTaskLoss",
    "fit_multitask",
    "evaluate_multitask",
]
