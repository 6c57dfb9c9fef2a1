"""mobilenet on cifar10 with switched fully connected layers, in the authors' setting.

    python examples/cifar10_mobilenet.py --data-dir DIR --epochs 2
"""

from _paper import run

run("mobilenet", "cifar10")
