"""``ember.datasets``: image datasets in torchvision's shape (``root, train, transform``)."""
from ember.datasets.digits import Digits
from ember.datasets.mnist import MNIST, FashionMNIST
