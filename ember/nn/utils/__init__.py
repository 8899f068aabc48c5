"""``ember.nn.utils``: helpers around modules (recurrent sequence packing, ...)."""
from ember.nn.utils import rnn
