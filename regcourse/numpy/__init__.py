"""The NumPy reference: a tiny torch.nn with every forward and backward written by hand.

Same class names, arguments, attribute names and shapes as ``torch.nn`` /
``torch.optim``, so a model's ``state_dict`` can be copied to its PyTorch twin
in ``regcourse.torch`` and the two compared number for number. Computes in float64.
"""

from regcourse.numpy.conv import Conv1d, Conv2d, GlobalAvgPool, MaxPool1d, MaxPool2d
from regcourse.numpy.core import (
    Flatten,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Tanh,
    Unflatten,
    mlp,
)
from regcourse.numpy.dropout import SELU, AlphaDropout, Dropout, GaussianDropout, mc_predict
from regcourse.numpy.gradcheck import (
    check_loss_gradient,
    check_module_gradients,
    numerical_gradient,
    relative_error,
)
from regcourse.numpy.losses import CrossEntropyLoss, MSELoss, log_softmax, softmax
from regcourse.numpy.multitask import (
    MultiTaskLoss,
    MultiTaskModel,
    evaluate_multitask,
    fit_multitask,
)
from regcourse.numpy.noise import GaussianNoise
from regcourse.numpy.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from regcourse.numpy.optim import SGD, Adam, AdamW, Optimizer, Optimizers, ProximalSGD
from regcourse.numpy.penalties import L1, L2, ElasticNet, MaxNorm, soft_threshold
from regcourse.numpy.random import manual_seed
from regcourse.numpy.train import accuracy, evaluate, fit, predict
from regcourse.training import EarlyStopping, Mixup, load_checkpoint, save_checkpoint

__all__ = [
    "Parameter",
    "Module",
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
    "Optimizer",
    "Optimizers",
    "SGD",
    "softmax",
    "log_softmax",
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
    "manual_seed",
    "MaxNorm",
    "Mixup",
    "save_checkpoint",
    "load_checkpoint",
    "GaussianNoise",
    "Dropout",
    "GaussianDropout",
    "AlphaDropout",
    "SELU",
    "mc_predict",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "numerical_gradient",
    "relative_error",
    "check_module_gradients",
    "check_loss_gradient",
    "MultiTaskModel",
    "MultiTaskLoss",
    "fit_multitask",
    "evaluate_multitask",
]
