"""``ember.utils``: data loading."""
from ember.utils import data, safetensors
