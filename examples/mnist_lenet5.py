"""lenet5 on mnist with switched fully connected layers, in the authors' setting.

    python examples/mnist_lenet5.py --data-dir DIR --epochs 2
"""

from _paper import run

run("lenet5", "mnist", "--warmup-epochs", "4")
