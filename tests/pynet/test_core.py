# -*- coding: utf-8 -*-
##########################################################################
# NSAp - Copyright (C) CEA, 2020
# Distributed under the terms of the CeCILL-B license, as published by
# the CEA-CNRS-INRIA. Refer to the LICENSE file or to
# http://www.cecill.info/licences/Licence_CeCILL-B_V1-en.html
# for details.
##########################################################################

# Adapted for moevae from neurospin/pynet (pynet/tests/test_core.py, commit
# 28eb248a04b40d180677e8fa20f2297c6967da0b, CeCILL-B). Changes, nothing else:
# - imports: pynet -> moevae;
# - data set: CIFAR -> MNIST (moevae's shipped 10,000-digit sample, written
#   as IDX files to a temporary folder so the test runs offline): one input
#   channel of 28x28 pixels, hence conv1 takes 1 channel and fc1 16*4*4
#   features; the stratification column is MNIST's "label" (CIFAR's
#   "category" does not exist);
# - folders: a temporary folder instead of /tmp/cifar and /tmp/pynet;
# (sample_size=0.01 of 10,000 digits keeps 100 rows, fewer per class than
# the 10 folds, so scikit-learn warns; pynet's CIFAR kept 600)
# - __main__: pynet.utils.setup_logging -> logging.basicConfig.

# System import
import logging
import tempfile
import unittest
from pathlib import Path
import torch
import torch.nn as nn
import torch.nn.functional as func

# Package import
from moevae.interfaces import DeepLearningInterface
from moevae.datasets import DataManager, fetch_minst
from tests.support.helpers import write_mnist_idx


class TestCore(unittest.TestCase):
    """ Test the core of pynet.
    """
    def setUp(self):
        """ Setup test.
        """
        self.tmpdir = tempfile.TemporaryDirectory()
        data = fetch_minst(datasetdir=str(write_mnist_idx(
            Path(self.tmpdir.name) / "mnist", train=9000, test=1000)))
        self.manager = DataManager(
            input_path=data.input_path,
            labels=["label"],
            metadata_path=data.metadata_path,
            number_of_folds=10,
            batch_size=10,
            stratify_label="label",
            test_size=0.1,
            sample_size=0.01)

        class Net(nn.Module):
            def __init__(self):
                super(Net, self).__init__()
                self.conv1 = nn.Conv2d(1, 6, 5)
                self.pool = nn.MaxPool2d(2, 2)
                self.conv2 = nn.Conv2d(6, 16, 5)
                self.fc1 = nn.Linear(16 * 4 * 4, 120)
                self.fc2 = nn.Linear(120, 84)
                self.fc3 = nn.Linear(84, 10)

            def forward(self, x):
                x = self.pool(func.relu(self.conv1(x)))
                x = self.pool(func.relu(self.conv2(x)))
                x = x.view(-1, 16 * 4 * 4)
                x = func.relu(self.fc1(x))
                x = func.relu(self.fc2(x))
                x = self.fc3(x)
                return x

        self.cl = DeepLearningInterface(
            model=Net(),
            optimizer_name="SGD",
            momentum=0.9,
            learning_rate=0.001,
            loss_name="CrossEntropyLoss",
            metrics=["accuracy"])

    def tearDown(self):
        """ Run after each test.
        """
        self.tmpdir.cleanup()

    def test_core(self):
        """ Test the core.
        """
        test_history, train_history = self.cl.training(
            manager=self.manager,
            nb_epochs=3,
            checkpointdir=str(Path(self.tmpdir.name) / "pynet"),
            fold_index=0,
            with_validation=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.DEBUG)
    unittest.main()
