"""resnet18 on cifar10 with switched fully connected layers, in the authors' setting.

    python examples/cifar10_resnet18.py --data-dir DIR --epochs 2
"""

from _paper import run

run("resnet18", "cifar10")
