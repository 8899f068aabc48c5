"""``ember.optim``: optimizers that update parameters in place from their ``.grad``."""
from ember.optim.adam import Adam, AdamW
from ember.optim.optimizer import Optimizer
from ember.optim.sgd import SGD
