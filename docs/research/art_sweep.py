#!/usr/bin/env python3
"""Research sweep: the ART paper's reference training (a transcription of
nupurkmr9/Attributional-Robustness cifar/cifar_robust_train.py, loss_art.py,
saliency_pgd.py) against natural and PGD training, on the project's shapes
dataset (exported) and MNIST, evaluated with the paper's IFIA-on-IG protocol
(eval_model.py / saliency_attackIG). One run per process; results as JSON.
"""
import argparse, gzip, json, math, os, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import stats

p = argparse.ArgumentParser()
p.add_argument("--data", default="shapes")          # shapes | mnist
p.add_argument("--dir", default=".")
p.add_argument("--method", default="art")           # natural | pgd | art
p.add_argument("--objective", default="ref")        # ref | proj (raw anchor, no mining, softplus top-k at x)
p.add_argument("--lam", type=float, default=0.5)
p.add_argument("--epochs", type=int, default=15)
p.add_argument("--budget", type=float, default=1e9)  # seconds of training at most
p.add_argument("--batch", type=int, default=128)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--wd", type=float, default=2e-4)
p.add_argument("--eps", type=float, default=8/255)
p.add_argument("--art-steps", type=int, default=3)
p.add_argument("--art-step", type=float, default=5/255)
p.add_argument("--k", type=int, default=1000)
p.add_argument("--pgd-steps", type=int, default=7)
p.add_argument("--pgd-step", type=float, default=2/255)
p.add_argument("--beta", type=float, default=50.0)
p.add_argument("--train-n", type=int, default=0)
p.add_argument("--eval-n", type=int, default=200)
p.add_argument("--ifia-steps", type=int, default=50)
p.add_argument("--ifia-step", type=float, default=1/255)
p.add_argument("--ifia-eps", type=float, default=8/255)
p.add_argument("--ifia-k", type=int, default=100)
p.add_argument("--ifia-attack-k", type=int, default=0)
p.add_argument("--pgd-eval-steps", type=int, default=20)
p.add_argument("--pgd-eval-step", type=float, default=0)
p.add_argument("--ig-steps", type=int, default=100)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--out", default="run.json")
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
a = p.parse_args()
torch.manual_seed(a.seed); np.random.seed(a.seed)
dev = torch.device(a.device)
torch.backends.cudnn.benchmark = True
T0 = time.time()
def log(*s):
    print(f"[{a.out} {time.time()-T0:7.1f}s]", *s, flush=True)

# ---------------------------------------------------------------- data
def idx(path):
    b = gzip.open(path).read()
    magic, = struct.unpack(">I", b[:4]); nd = magic & 0xff
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b[4 + 4 * nd:], dtype=np.uint8).reshape(dims)

if a.data == "shapes":
    def load(split, n):
        x = np.fromfile(f"{a.dir}/shapes-{split}-x.u8", dtype=np.uint8).reshape(n, 32, 32, 3)
        y = np.fromfile(f"{a.dir}/shapes-{split}-y.u8", dtype=np.uint8)
        return torch.tensor(x).permute(0, 3, 1, 2).float().div(255), torch.tensor(y).long()
    xtr, ytr = load("train", 10000); xte, yte = load("test", 2000)
else:
    xtr = torch.tensor(idx(f"{a.dir}/train-images-idx3-ubyte.gz")).float().div(255)[:, None]
    ytr = torch.tensor(idx(f"{a.dir}/train-labels-idx1-ubyte.gz")).long()
    xte = torch.tensor(idx(f"{a.dir}/t10k-images-idx3-ubyte.gz")).float().div(255)[:, None]
    yte = torch.tensor(idx(f"{a.dir}/t10k-labels-idx1-ubyte.gz")).long()
if a.train_n:
    xtr, ytr = xtr[:a.train_n], ytr[:a.train_n]
C, H = xtr.shape[1], xtr.shape[2]
mean = xtr.mean((0, 2, 3)); std = xtr.std((0, 2, 3)).clamp_min(1e-3)
xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
MEAN, STD = mean.view(1, C, 1, 1).to(dev), std.view(1, C, 1, 1).to(dev)
def normalize(x): return (x - MEAN) / STD

# ---------------------------------------------------------------- models
class Act(nn.Module):
    def __init__(self): super().__init__(); self.soft = False
    def forward(self, x): return F.softplus(x, beta=a.beta) if self.soft else F.relu(x)

class Block(nn.Module):
    def __init__(s, cin, cout, stride, act):
        super().__init__(); s.act = [act]
        s.bn1 = nn.BatchNorm2d(cin); s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        s.bn2 = nn.BatchNorm2d(cout); s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        s.sc = nn.Conv2d(cin, cout, 1, stride, 0, bias=False) if (cin != cout or stride != 1) else None
    def forward(s, x):
        act = s.act[0]; o = act(s.bn1(x))
        sc = x if s.sc is None else s.sc(o)
        return s.c2(act(s.bn2(s.c1(o)))) + sc

class WRN(nn.Module):
    def __init__(s, depth=10, k=1, cin=3, ncls=10):
        super().__init__(); s.act = Act(); n = (depth - 4) // 6; w = [16, 16 * k, 32 * k, 64 * k]
        s.conv = nn.Conv2d(cin, 16, 3, 1, 1, bias=False); blocks = []; c = 16
        for g, st in zip(range(3), (1, 2, 2)):
            for i in range(n):
                blocks.append(Block(c, w[g + 1], st if i == 0 else 1, s.act)); c = w[g + 1]
        s.blocks = nn.Sequential(*blocks); s.bn = nn.BatchNorm2d(c); s.fc = nn.Linear(c, ncls)
        for m in s.modules():
            if isinstance(m, nn.Conv2d): nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear): nn.init.zeros_(m.bias)
    def forward(s, x):
        o = s.act(s.bn(s.blocks(s.conv(x))))
        return s.fc(o.mean((2, 3)))

class MnistCNN(nn.Module):
    def __init__(s):
        super().__init__(); s.act = Act()
        s.c1 = nn.Conv2d(1, 32, 5, 1, 2); s.c2 = nn.Conv2d(32, 64, 5, 1, 2)
        s.f1 = nn.Linear(7 * 7 * 64, 1024); s.f2 = nn.Linear(1024, 10)
    def forward(s, x):
        o = F.max_pool2d(s.act(s.c1(x)), 2); o = F.max_pool2d(s.act(s.c2(o)), 2)
        return s.f2(s.act(s.f1(o.flatten(1))))

net = (WRN() if a.data == "shapes" else MnistCNN()).to(dev)
def fwd(xn, soft):  # logits of the normalised input
    net.act.soft = soft
    return net(xn)

# ---------------------------------------------------------------- objectives
def top_bottom(logits, y):
    top = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).max(1).values
    return top, other

def art_attack(x, y):
    """saliency_pgd.topk_alignment_saliency_attack."""
    B = x.shape[0]
    adv = (x + 2 * a.eps * (torch.rand_like(x) - 0.5)).clamp(0, 1)
    adv.requires_grad_(True)
    if a.objective == "ref":   # top-k of |g_y| of the ReLU model at the random start
        top, _ = top_bottom(fwd(normalize(adv), False), y)
        g1 = torch.autograd.grad(top.mean(), adv)[0]
        idx = g1.reshape(B, -1).abs().topk(min(a.k, g1[0].numel()), 1).indices
    else:                      # the project's old choice: softplus model at the clean image
        xx = x.clone().requires_grad_(True)
        top, _ = top_bottom(fwd(normalize(xx), True), y)
        g1 = torch.autograd.grad(top.mean(), xx)[0]
        idx = g1.reshape(B, -1).abs().topk(min(a.k, g1[0].numel()), 1).indices
    for _ in range(a.art_steps):
        adv = adv.detach().requires_grad_(True)
        top, bot = top_bottom(fwd(normalize(adv), True), y)
        g1 = torch.autograd.grad(top.mean(), adv, retain_graph=True, create_graph=True)[0]
        g2 = torch.autograd.grad(bot.mean(), adv, retain_graph=True, create_graph=True)[0]
        anchor = normalize(adv) if a.objective == "ref" else adv
        u = anchor.reshape(B, -1).gather(1, idx)
        v1 = g1.reshape(B, -1).gather(1, idx); v2 = g2.reshape(B, -1).gather(1, idx)
        dap = 1 - F.cosine_similarity(u, v1, 1, 1e-6); dan = 1 - F.cosine_similarity(u, v2, 1, 1e-6)
        loss = F.soft_margin_loss(dan - dap, torch.ones_like(dan))
        d = torch.autograd.grad(loss, adv)[0]
        with torch.no_grad():
            adv = torch.min(torch.max(adv + a.art_step * d.sign(), x - a.eps), x + a.eps).clamp(0, 1)
    return adv.detach()

def cosine_dist(x, g1, g2):
    """loss_art.cosine_dist: [2N, 2N] distance matrices."""
    n1 = x.norm(2, 1) + 1e-8
    dp = (x @ g1.t()) / n1[:, None] / (g1.norm(2, 1) + 1e-8)
    dn = (x @ g2.t()) / n1[:, None] / (g2.norm(2, 1) + 1e-8)
    return 1 - dp, 1 - dn

def art_loss(x, xadv, y):
    B = x.shape[0]
    if a.objective == "ref":
        xn = normalize(torch.cat([x, xadv], 0)).detach().requires_grad_(True)
        y2 = y.repeat(2)
        top, bot = top_bottom(fwd(xn, True), y2)
        g1 = torch.autograd.grad(top.mean(), xn, retain_graph=True, create_graph=True)[0]
        g2 = torch.autograd.grad(bot.mean(), xn, retain_graph=True, create_graph=True)[0]
        X, G1, G2 = xn.detach().reshape(2 * B, -1), g1.reshape(2 * B, -1), g2.reshape(2 * B, -1)
        dp, dn = cosine_dist(X, G1, G2)
        ids = torch.arange(B, device=dev).repeat(2)
        pos = ids[:, None] == ids[None, :]
        dap = dp[pos].view(2 * B, -1).max(1).values
        dan = dn[pos].view(2 * B, -1).min(1).values
        return F.soft_margin_loss(dan - dap, torch.ones_like(dan)), (1 - dp.diagonal()).mean()
    # proj: raw anchor, each row scored on its own, gradients w.r.t. the raw input
    xr = torch.cat([x, xadv], 0).detach().requires_grad_(True)
    top, bot = top_bottom(fwd(normalize(xr), True), y.repeat(2))
    g1 = torch.autograd.grad(top.sum(), xr, retain_graph=True, create_graph=True)[0]
    g2 = torch.autograd.grad(bot.sum(), xr, retain_graph=True, create_graph=True)[0]
    X = xr.detach().reshape(2 * B, -1)
    c1 = F.cosine_similarity(X, g1.reshape(2 * B, -1), 1, 1e-12); c2 = F.cosine_similarity(X, g2.reshape(2 * B, -1), 1, 1e-12)
    return F.softplus((1 - c1) - (1 - c2)).mean(), c1.mean()

def pgd(x, y, eps, step, steps, train):
    net.train(train)
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        g = torch.autograd.grad(F.cross_entropy(fwd(normalize(adv), False), y), adv)[0]
        with torch.no_grad():
            adv = torch.min(torch.max(adv + step * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv.detach()

def augment(x):
    if a.data != "shapes":
        return x
    B = x.shape[0]
    xp = F.pad(x, (4, 4, 4, 4), mode="reflect")
    i = torch.randint(0, 9, (B,), device=dev); j = torch.randint(0, 9, (B,), device=dev)
    ar = torch.arange(32, device=dev)
    rows = (i[:, None] + ar[None]); cols = (j[:, None] + ar[None])
    out = xp[torch.arange(B, device=dev)[:, None, None, None], torch.arange(C, device=dev)[None, :, None, None],
             rows[:, None, :, None], cols[:, None, None, :]]
    flip = torch.rand(B, device=dev) < 0.5
    out[flip] = out[flip].flip(3)
    return out

# ---------------------------------------------------------------- training
opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=a.wd)
N = xtr.shape[0]; spe = N // a.batch
def lr_at(step, total):
    warm = min(100, total // 20)
    if step < warm: return a.lr * (step + 1) / warm
    f = step / total
    return a.lr * (1 if f < 0.5 else 0.1 if f < 0.75 else 0.01)

def train_step(x, y):
    net.train()
    if a.method == "natural":
        loss = F.cross_entropy(fwd(normalize(x), False), y); attr = torch.zeros(()); cos = torch.zeros(())
    elif a.method == "pgd":
        adv = pgd(x, y, a.eps, a.pgd_step, a.pgd_steps, True); net.train()
        loss = F.cross_entropy(fwd(normalize(adv), False), y); attr = torch.zeros(()); cos = torch.zeros(())
    else:
        adv = art_attack(x, y)
        attr, cos = art_loss(x, adv, y)
        loss = F.cross_entropy(fwd(normalize(adv), False), y) + a.lam * attr
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return loss.item(), attr.item(), cos.item()

# Plan the epochs to fit the budget: time a few steps first.
g = torch.Generator(device="cpu").manual_seed(a.seed)
perm = torch.randperm(N, generator=g).to(dev)
probe = 8 if a.budget < 1e8 else 0
for s in range(probe):
    if s == 3:
        if dev.type == "cuda": torch.cuda.synchronize()
        t = time.time()
    b = perm[(s % spe) * a.batch:(s % spe + 1) * a.batch]
    for pg in opt.param_groups: pg["lr"] = 1e-4
    train_step(augment(xtr[b]), ytr[b])
if dev.type == "cuda": torch.cuda.synchronize()
per_step = (time.time() - t) / 5 if probe else 0
epochs = max(1, min(a.epochs, int(a.budget / max(per_step * spe, 1e-9))))
log(f"{per_step*1000:.1f} ms/step, {spe} steps/epoch: {epochs} of {a.epochs} epochs fit the budget")
net = (WRN() if a.data == "shapes" else MnistCNN()).to(dev)  # restart cleanly
torch.manual_seed(a.seed)
opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=a.wd)
total = epochs * spe; step = 0; hist = []
tt = time.time()
for ep in range(epochs):
    perm = torch.randperm(N, generator=g).to(dev)
    sums = np.zeros(3)
    for s in range(spe):
        b = perm[s * a.batch:(s + 1) * a.batch]
        for pg in opt.param_groups: pg["lr"] = lr_at(step, total)
        sums += train_step(augment(xtr[b]), ytr[b]); step += 1
    net.eval()
    with torch.no_grad():
        acc = (fwd(normalize(xte[:1000]), False).argmax(1) == yte[:1000]).float().mean().item()
    hist.append(dict(epoch=ep + 1, loss=sums[0] / spe, attr=sums[1] / spe, cos=sums[2] / spe, test_acc=acc))
    train_s = time.time() - tt
    log(f"epoch {ep+1}: loss {sums[0]/spe:.4f} attr {sums[1]/spe:.4f} cos {sums[2]/spe:.4f} acc {acc:.3f}")
train_s = time.time() - tt

# ---------------------------------------------------------------- evaluation
net.eval()
def predict(x):
    with torch.no_grad():
        return torch.cat([fwd(normalize(x[i:i + 500]), False).argmax(1) for i in range(0, len(x), 500)])
clean = (predict(xte) == yte).float().mean().item()
peps = a.eps; pstep = a.pgd_eval_step or a.pgd_step
adv = torch.cat([pgd(xte[i:i + 250], yte[i:i + 250], peps, pstep, a.pgd_eval_steps, False) for i in range(0, 500, 250)])
net.eval(); pgd_acc = (predict(adv) == yte[:500]).float().mean().item()
# alignment cos(normalised x, dz_y/dx_) (Fig. 6)
xn = normalize(xte[:500]).requires_grad_(True)
top, _ = top_bottom(fwd(xn, False), yte[:500])
gy = torch.autograd.grad(top.sum(), xn)[0]
align = F.cosine_similarity(xn.detach().flatten(1), gy.flatten(1), 1).cpu().numpy()

def ig_logit(x, y, soft, create):
    """saliency_attackIG's map: right Riemann IG of the target logit, |.| summed over channels, normalised to sum H*W."""
    B = x.shape[0]; S = a.ig_steps
    cf = (torch.arange(1, S + 1, device=dev).float() / S).view(S, 1, 1, 1, 1) * x.detach()[None]
    cf = cf.reshape(S * B, C, H, H).requires_grad_(True)
    lg = fwd(normalize(cf), soft)
    sc = lg.gather(1, y.repeat(S)[:, None]).sum()
    pg = torch.autograd.grad(sc, cf, create_graph=create)[0]
    avg = pg.view(S, B, C, H, H).mean(0)
    sal = (avg * x).abs().sum(1).reshape(B, -1)
    return H * H * sal / sal.sum(1, keepdim=True), cf

def ig_final(x, y):
    """eval_model.get_gradIG: IG of the CE loss, 101-point trapezoid; |.| mean over channels."""
    B = x.shape[0]; S = a.ig_steps
    sc = (torch.arange(0, S + 1, device=dev).float() / S).view(S + 1, 1, 1, 1, 1) * x.detach()[None]
    sc = sc.reshape((S + 1) * B, C, H, H).requires_grad_(True)
    loss = F.cross_entropy(fwd(normalize(sc), False), y.repeat(S + 1), reduction="sum")
    gr = torch.autograd.grad(loss, sc)[0].view(S + 1, B, C, H, H)
    avg = ((gr[1:] + gr[:-1]) / 2).mean(0)
    return (x * avg).abs().mean(1).reshape(B, -1).detach()

def ifia(x, y):
    B = x.shape[0]; S = a.ig_steps; k = a.ifia_attack_k or a.ifia_k
    sal0, _ = ig_logit(x, y, False, False)
    sal0 = sal0.detach()
    mask = torch.zeros_like(sal0); mask.scatter_(1, sal0.topk(k, 1).indices, 1)
    adv = (x + 2 * a.ifia_eps * (torch.rand_like(x) - 0.5)).clamp(0, 1)
    best = [None] * B; bestm = [math.inf] * B
    for i in range(a.ifia_steps):
        sal, cf = ig_logit(adv, y, True, True)
        sal2, _ = ig_logit(adv, y, False, False)
        pred = predict(adv)
        s2 = (sal2.detach() * mask).cpu().numpy(); s0 = (sal0 * mask).cpu().numpy()
        for j in range(B):
            if pred[j] == y[j]:
                m = stats.kendalltau(s2[j], s0[j])[0]
                if m < bestm[j]:
                    bestm[j] = m; best[j] = adv[j].detach().clone()
        lossk = (sal * mask).sum(1).mean()
        d = -torch.autograd.grad(lossk, cf)[0].view(S, B, C, H, H)
        w = (torch.arange(1, S + 1, device=dev).float() / S).view(S, 1, 1, 1, 1)
        d = (w * d).sum(0)
        with torch.no_grad():
            adv = torch.min(torch.max(adv + a.ifia_step * d.sign(), x - a.ifia_eps), x + a.ifia_eps).clamp(0, 1)
    return best

def dump(done):
    res = dict(args=vars(a), epochs_run=epochs, ms_per_step=per_step * 1000, train_s=train_s, history=hist,
               clean_acc=clean, pgd_acc=pgd_acc, align_mean=float(align.mean()), align_std=float(align.std()),
               ifia_n=kept, ifia_topk_mean=float(np.mean(topk)) if topk else None, ifia_topk_std=float(np.std(topk)) if topk else None,
               ifia_kendall_mean=float(np.mean(kend)) if kend else None, ifia_kendall_std=float(np.std(kend)) if kend else None,
               complete=done, total_s=time.time() - T0)
    json.dump(res, open(a.out, "w"), indent=1)
    return res
topk, kend, kept = [], [], 0
dump(False)
# the first eval_n test images the model classifies correctly
pred = predict(xte); ok = (pred == yte).nonzero().squeeze(1)[:a.eval_n]
CH = 50 if a.data == "shapes" else 20
for i in range(0, len(ok), CH):
    ids = ok[i:i + CH]; x, y = xte[ids], yte[ids]
    best = ifia(x, y)
    m0 = ig_final(x, y).cpu().numpy()
    for j, b in enumerate(best):
        if b is None: continue
        kept += 1
        m1 = ig_final(b[None], y[j:j + 1]).cpu().numpy()[0]
        t0 = set(np.argsort(-m0[j])[:a.ifia_k]); t1 = set(np.argsort(-m1)[:a.ifia_k])
        topk.append(len(t0 & t1) / a.ifia_k); kend.append(stats.kendalltau(m0[j], m1)[0])
    log(f"ifia {min(i+CH, len(ok))}/{len(ok)}: topk {np.mean(topk):.3f} kendall {np.mean(kend):.3f}")
    dump(False)
res = dump(True)
log("done", json.dumps({k: v for k, v in res.items() if k not in ("history", "args")}))
