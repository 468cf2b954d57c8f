"""Recurrent models written as the PyTorch examples write them: a cell stepped in a Python loop
over the sequence's chunks (time_sequence_prediction), and one block called on two inputs with
the same weights (siamese_network)."""
from __future__ import annotations

import torch
from torch import nn


class CellSequence(nn.Module):
    """Two stacked LSTM cells stepped over the sequence, one chunk per step, then ``future``
    steps fed their own prediction."""

    def __init__(self, hidden: int = 12):
        super().__init__()
        self.hidden = hidden
        self.cell1 = nn.LSTMCell(1, hidden)
        self.cell2 = nn.LSTMCell(hidden, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h1 = torch.zeros(input.size(0), self.hidden)
        c1 = torch.zeros(input.size(0), self.hidden)
        h2 = torch.zeros(input.size(0), self.hidden)
        c2 = torch.zeros(input.size(0), self.hidden)
        for step in input.chunk(input.size(1), dim=1):
            h1, c1 = self.cell1(step, (h1, c1))
            h2, c2 = self.cell2(h1, (h2, c2))
            output = self.head(h2)
            outputs += [output]
        for _ in range(future):
            h1, c1 = self.cell1(output, (h1, c1))
            h2, c2 = self.cell2(h1, (h2, c2))
            output = self.head(h2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


class Siamese(nn.Module):
    """One convolutional tower scores both images (shared weights); the two embeddings are
    concatenated and classified as same or different."""

    def __init__(self):
        super().__init__()
        self.tower = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)))
        self.fc = nn.Sequential(nn.Linear(32, 16), nn.ReLU(inplace=True), nn.Linear(16, 1))
        self.sigmoid = nn.Sigmoid()

    def embed(self, x):
        output = self.tower(x)
        return output.view(output.size()[0], -1)

    def forward(self, input1, input2):
        output = torch.cat((self.embed(input1), self.embed(input2)), 1)
        return self.sigmoid(self.fc(output))
