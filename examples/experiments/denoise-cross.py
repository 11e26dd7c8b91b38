#!/usr/bin/env python3
"""Which a course denoiser has memorised, the speech or the noise of its training part:
the course pair's validation part (its first 106,496 samples, as dlsc-train-denoiser
--course splits it) and five training-part segments of the same length are split into
speech (the clean recording) and noise (noisy minus clean) and recombined: training
speech with validation noise, validation speech with training noise, and both from the
training part as recorded. Each mixture is denoised by `dlsc-denoise --model MODEL`; the
script prints input and output SNRs and the mean gain of each kind.
Usage: examples/experiments/denoise-cross.py DLSC-DENOISE MODEL [DATA-DIR]
(DATA-DIR defaults to $DLSC_DATA, then ../shared/data.) Needs Debian's python3-numpy;
not part of the library."""
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np


def read(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), '<i2') / 32768.0


def write(path, x):
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype('<i2').tobytes())


def snr(reference, estimate):
    return 10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2))


denoiser, model = sys.argv[1], sys.argv[2]
data = sys.argv[3] if len(sys.argv) > 3 else os.environ.get('DLSC_DATA', '../shared/data')
clean = read(f'{data}/speech/course/train_clean_male.wav')
noise = read(f'{data}/speech/course/train_dirty_male.wav') - clean
V = 106496  # the validation part
work = tempfile.mkdtemp()


def denoised_snr(speech, noise_part):
    mixture = speech + noise_part
    write(f'{work}/in.wav', mixture)
    subprocess.run([denoiser, '--model', model, f'{work}/in.wav', f'{work}/out.wav'], check=True,
                   capture_output=True)
    return snr(speech, mixture), snr(speech, read(f'{work}/out.wav'))


kinds = {'training speech + validation noise': [], 'validation speech + training noise': [],
         'training speech + training noise': []}
for k in range(1, 6):
    part = slice(k * V, (k + 1) * V)
    kinds['training speech + validation noise'].append(denoised_snr(clean[part], noise[:V]))
    kinds['validation speech + training noise'].append(denoised_snr(clean[:V], noise[part]))
    kinds['training speech + training noise'].append(denoised_snr(clean[part], noise[part]))
for kind, pairs in kinds.items():
    pairs = np.array(pairs)
    print(f'{kind:36s} in ' + ' '.join(f'{a:5.2f}' for a in pairs[:, 0]) + '  out ' +
          ' '.join(f'{a:5.2f}' for a in pairs[:, 1]) +
          f'  mean gain {np.mean(pairs[:, 1] - pairs[:, 0]):.2f} dB')
print('validation speech + validation noise  in %.2f  out %.2f dB' %
      denoised_snr(clean[:V], noise[:V]))
