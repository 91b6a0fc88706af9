#!/usr/bin/env python3
"""Where a Tandem training step spends its time, from a JFR recording.

  TANDEM_JAVA_OPTS="-XX:StartFlightRecording=filename=/tmp/t.jfr,settings=profile" \
      ./tandem bench train --model wide --no-peer --warmup 1 --rounds 2
  jfr print --stack-depth 64 --events jdk.ExecutionSample /tmp/t.jfr > /tmp/t.txt
  python3 src/bench/jfr/op_profile.py /tmp/t.txt

Prints the share of samples per kernel family (all threads) and, for the main thread, per op and
direction (a backward closure is a lambda inside Ops). The main thread runs one share of every
parallel region and is the only one whose stacks reach the op that called the kernel, so its
split stands for the whole step. Samples in the PeakFlops probe are dropped.
"""
import sys, re, collections
samples = []
cur = None
for line in open(sys.argv[1]):
    s = line.strip()
    if s.startswith('jdk.ExecutionSample'):
        cur = {'thread': None, 'frames': []}; samples.append(cur)
    elif cur is not None and s.startswith('sampledThread'):
        cur['thread'] = s.split('"')[1]
    elif cur is not None:
        m = re.match(r'([\w.$]+)\.([\w$<>]+)\(.*line:', s)
        if m: cur['frames'].append(m.group(1) + '.' + m.group(2))
def family(fr):
    if any('PeakFlops' in f for f in fr): return None
    for key, name in (('dev.tandem.tensor.Gemm', 'GEMM (tensor.Gemm)'),
                      ('dev.tandem.nn.CausalAttention', 'attention (nn.CausalAttention)'),
                      ('dev.tandem.optim.AdamW', 'AdamW'),
                      ('initNativeMemory', 'allocate + zero activations')):
        if any(key in f for f in fr): return name
    for f in fr:
        if f.startswith('dev.tandem.tensor.VectorKernels') and 'VectorKernels.load' not in f and 'VectorKernels.store' not in f:
            m = re.search(r'lambda\$(\w+?)\$', f) or re.search(r'VectorKernels\.(\w+)', f)
            return 'elementwise: ' + m.group(1)
        if f.startswith('dev.tandem.tensor.VectorMath'): return 'elementwise: VectorMath (exp/tanh)'
    return 'other: ' + (fr[0] if fr else '?')
def op(fr):
    if any('PeakFlops' in f for f in fr): return None
    for f in fr:
        m = re.match(r'dev\.tandem\.nn\.(Ops)\.(lambda\$)?(\w+?)(\$\d+)?$', f)
        if m and m.group(3) not in ('d', 'g'):
            return ('backward ' if m.group(2) else 'forward ') + m.group(1) + '.' + m.group(3)
        if f.startswith('dev.tandem.optim.AdamW'): return 'AdamW'
        if f.startswith('dev.tandem.nn.GPT.zeroGrad'): return 'zeroGrad'
    return 'other: ' + (fr[0] if fr else '?')
def report(title, keyf, subset):
    c = collections.Counter(k for k in (keyf(x['frames']) for x in subset) if k)
    n = sum(c.values())
    print(f'-- {title}: {n} samples')
    for k, v in c.most_common(14): print(f'{100*v/n:5.1f}%  {k}')
report('all threads by kernel family', family, samples)
report('main thread by op (forward/backward)', op, [x for x in samples if x['thread'] == 'main'])
