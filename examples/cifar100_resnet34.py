"""resnet34 on cifar100 with switched fully connected layers, in the authors' setting.

    python examples/cifar100_resnet34.py --data-dir DIR --epochs 2
"""

from _paper import run

run("resnet34", "cifar100")
