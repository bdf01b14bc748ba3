"""PyTorch peer of `lgm bench`: the same network, batch, synthetic input and
step (forward, backward, SGD step with Nesterov momentum and weight decay),
timed the same way (median over steps after a warm-up). Prints one JSON line
with train_img_s, eval_img_s and peak_rss_mb. Run by bench-vs-pytorch.sh."""
import argparse, json, resource, statistics, time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--net", default="lenetpp", choices=["lenetpp", "lenet", "vgg", "resnet20"])
p.add_argument("--width", type=float, default=1.0)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--dim", type=int, default=2)
p.add_argument("--autocast", choices=["none", "bf16"], default="none",
               help="bf16: run forward and loss under torch.cpu.amp.autocast(dtype=torch.bfloat16), oneDNN's bfloat16 on AVX512_BF16")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)


def lenetpp(d):
    layers, cin = [], 1
    for w in (32, 64, 128):
        for _ in range(2):
            layers += [nn.Conv2d(cin, w, 5, padding=2), nn.PReLU(w)]
            cin = w
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(1152, d))


def lenet(d):
    return nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, d))


def vgg(d, w):
    # model/vgg.go: [conv 3x3 pad 1 (no bias) + BatchNorm + ReLU] x 5, 4, 4 at
    # round(w*96), round(w*192), round(w*384) channels, 2x2 max-pool after the
    # first two stages, global average pool, FC to D when D is not the last width.
    layers, cin = [], 3
    for s, (base, convs) in enumerate(((96, 5), (192, 4), (384, 4))):
        width = max(1, round(w * base))
        for _ in range(convs):
            layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            cin = width
        if s < 2:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if d != cin:
        layers.append(nn.Linear(cin, d))
    return nn.Sequential(*layers)


class Block(nn.Module):
    """model/resnet.go's basic block: ReLU(BN(conv(ReLU(BN(conv(x))))) + P(x)),
    3x3 convolutions without bias, P the option-A shortcut: x subsampled with
    the stride and zero channels split between both ends (nnops.ResidualReLU)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, ((cout - cin) // 2, cout - cin - (cout - cin) // 2)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        s = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.pad != (0, 0):
            s = nn.functional.pad(s, (0, 0, 0, 0) + self.pad)
        return torch.relu(h + s)


def resnet20(d, w):
    # model/resnet.go: conv 3x3 + BN + ReLU at c = round(16w) channels, 3 stages of
    # 3 blocks at c, 2c, 4c (stride 2 entering stages 2 and 3), global average
    # pool, FC to D when D is not 4c.
    c = max(1, int(16 * w + 0.5))
    layers, cin = [nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()], c
    for s, width in enumerate((c, 2 * c, 4 * c)):
        for j in range(3):
            layers.append(Block(cin, width, 2 if s > 0 and j == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if d != cin:
        layers.append(nn.Linear(cin, d))
    return nn.Sequential(*layers)


net = {"lenetpp": lambda: lenetpp(a.dim), "lenet": lambda: lenet(a.dim), "vgg": lambda: vgg(a.dim, a.width),
       "resnet20": lambda: resnet20(a.dim, a.width)}[a.net]()
head = nn.Linear(a.dim, 10, bias=False)  # the softmax head without bias, as lgm's
params = list(net.parameters()) + list(head.parameters())
opt = torch.optim.SGD(params, lr=1e-4, momentum=0.9, nesterov=True, weight_decay=1e-3)
loss_fn = nn.CrossEntropyLoss()
x = torch.rand(a.batch, 3, 32, 32) if a.net in ("vgg", "resnet20") else torch.rand(a.batch, 1, 28, 28)
y = torch.randint(0, 10, (a.batch,))


import contextlib


def precision():
    if a.autocast == "bf16":
        return torch.cpu.amp.autocast(dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_step():
    net.train()
    opt.zero_grad(set_to_none=False)
    with precision():
        loss = loss_fn(head(net(x)), y)
    loss.backward()
    opt.step()


def eval_step():
    net.eval()  # BatchNorm's running statistics, as lgm eval
    with torch.no_grad(), precision():
        head(net(x)).argmax(1)


out = {"net": a.net, "batch": a.batch, "threads": a.threads, "dim": a.dim, "precision": "bf16" if a.autocast == "bf16" else "fp32"}
if a.net in ("vgg", "resnet20"):
    out["width"] = a.width
for name, f in (("train", train_step), ("eval", eval_step)):
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        f()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    out[name + "_img_s"] = a.batch / statistics.median(times)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["torch"] = torch.__version__
print(json.dumps(out))
