package org.lowbit4j.optim.kernel;

import static org.lowbit4j.optim.kernel.AdamKernel.F;
import static org.lowbit4j.optim.kernel.AdamKernel.FLOAT;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * The fused SGD element update, as PyTorch's SGD: {@code d = g + wd*p}; with momentum,
 * {@code buf = d} on the first step and {@code buf = momentum*buf + (1-dampening)*d} after, then
 * {@code d = d + momentum*buf} (Nesterov) or {@code d = buf}; finally {@code p = p - lr*d}.
 *
 * <p>{@link #step} uses the Vector API, {@link #stepScalar} is its bitwise-equal scalar twin.
 */
public final class SgdKernel {
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private SgdKernel() {
    }

    /**
     * The float32 constants of one step.
     *
     * @param lr learning rate
     * @param weightDecay L2 penalty added to the gradient
     * @param momentum momentum factor (0: none, {@code buf} is unused)
     * @param oneMinusDampening {@code 1 - dampening}
     * @param nesterov Nesterov momentum
     * @param first whether the momentum buffer is initialised from this step's gradient
     */
    public record Coeffs(float lr, float weightDecay, float momentum, float oneMinusDampening, boolean nesterov,
            boolean first) {
    }

    /**
     * Updates elements {@code [0, len)} of a window.
     *
     * @param p parameters (float32) from element {@code pOff}, updated in place
     * @param g gradients (float32) from element {@code pOff}
     * @param buf momentum buffer from {@code sOff} (ignored when momentum is 0)
     */
    public static void step(MemorySegment p, MemorySegment g, long pOff, float[] buf, int sOff, int len,
            Coeffs c) {
        int lanes = F.length();
        int i = 0;
        for (; i <= len - lanes; i += lanes) {
            long byteOff = (pOff + i) * 4;
            var pv = FloatVector.fromMemorySegment(F, p, byteOff, ORDER);
            var d = FloatVector.fromMemorySegment(F, g, byteOff, ORDER).add(pv.mul(c.weightDecay()));
            if (c.momentum() != 0f) {
                var b = c.first() ? d
                        : FloatVector.fromArray(F, buf, sOff + i).mul(c.momentum()).add(d.mul(c.oneMinusDampening()));
                b.intoArray(buf, sOff + i);
                d = c.nesterov() ? d.add(b.mul(c.momentum())) : b;
            }
            pv.sub(d.mul(c.lr())).intoMemorySegment(p, byteOff, ORDER);
        }
        stepScalar(p, g, pOff + i, buf, sOff + i, len - i, c);
    }

    /** Scalar twin of {@link #step}. */
    public static void stepScalar(MemorySegment p, MemorySegment g, long pOff, float[] buf, int sOff, int len,
            Coeffs c) {
        for (int i = 0; i < len; i++) {
            float pi = p.getAtIndex(FLOAT, pOff + i);
            float d = g.getAtIndex(FLOAT, pOff + i) + pi * c.weightDecay();
            if (c.momentum() != 0f) {
                float b = c.first() ? d : buf[sOff + i] * c.momentum() + d * c.oneMinusDampening();
                buf[sOff + i] = b;
                d = c.nesterov() ? d + b * c.momentum() : b;
            }
            p.setAtIndex(FLOAT, pOff + i, pi - d * c.lr());
        }
    }
}
