"""Model builders with switched fully connected heads."""

from keras_switcher.applications.lenet import LeNet5, LeNet300100
