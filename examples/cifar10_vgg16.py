"""vgg16 on cifar10 with switched fully connected layers, in the authors' setting.

    python examples/cifar10_vgg16.py --data-dir DIR --epochs 2
"""

from _paper import run

run("vgg16", "cifar10")
