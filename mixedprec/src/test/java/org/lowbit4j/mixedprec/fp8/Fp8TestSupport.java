package org.lowbit4j.mixedprec.fp8;

import java.util.Random;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.mixedprec.Fp32Policy;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.Linear;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Shared pieces of the FP8 tests: an fp32 delegate, a reference fake quantizer, a 2-layer MLP. */
final class Fp8TestSupport {
    private Fp8TestSupport() {
    }

    /** Runs every product in plain fp32. */
    static final Autocast.Policy FP32 = new Fp32Policy();

    /** @return Gaussian FLOAT array of the shape, times std */
    static INDArray gaussian(long seed, double std, long... shape) {
        var rnd = new Random(seed);
        INDArray a = Nd4j.create(DataType.FLOAT, shape, 'c');
        long n = a.length();
        INDArray flat = a.reshape(n);
        for (long i = 0; i < n; i++) {
            flat.putScalar(i, (float) (rnd.nextGaussian() * std));
        }
        return a;
    }

    /** @return max |x| computed element by element */
    static float amax(INDArray x) {
        float m = 0f;
        for (float v : x.dup('c').reshape(x.length()).toFloatVector()) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * Reference fake quantization with the codec, element by element:
     * {@code decode(encode(x * scale, saturate)) * (1 / scale)}.
     *
     * @return a new C-ordered array of x's shape
     */
    static INDArray referenceQdq(INDArray x, Fp8 f, float scale) {
        float inv = 1f / scale;
        float[] v = x.dup('c').reshape(x.length()).toFloatVector();
        for (int i = 0; i < v.length; i++) {
            v[i] = f.decode(f.encode(v[i] * scale, true)) * inv;
        }
        return Nd4j.createFromArray(v).reshape('c', x.shape());
    }

    /** y = fc2(silu(fc1(x))), parameters "fc1.weight" [hidden, in] and "fc2.weight" [out, hidden]. */
    static final class Mlp extends Layer {
        @SuppressWarnings("this-escape")
        Mlp(int in, int hidden, int out, long seed) {
            addChild("fc1", new Linear(in, hidden, DataType.FLOAT, seed));
            addChild("fc2", new Linear(hidden, out, DataType.FLOAT, seed + 1));
        }

        @Override
        public Tensor forward(Tensor x) {
            return layer("fc2").forward(F.silu(layer("fc1").forward(x)));
        }
    }

    /** @return mean((pred - target)^2) as a scalar tensor */
    static Tensor mse(Tensor pred, INDArray target) {
        Tensor d = F.sub(pred, Tensor.constant(target));
        return F.mean(F.mul(d, d), false);
    }
}
