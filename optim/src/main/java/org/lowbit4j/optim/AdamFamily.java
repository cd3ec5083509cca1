package org.lowbit4j.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.kernel.AdamCoeffs;
import org.lowbit4j.optim.kernel.FloatView;

/**
 * AdamW with decoupled weight decay and bias correction (PyTorch's algorithm); the subclasses differ only
 * in how each parameter's two moments are stored. Each parameter keeps its own step count, which advances
 * only on steps where it has a gradient.
 */
public abstract sealed class AdamFamily extends BaseOptimizer permits AdamW, AdamW8bit, AdamW4bit {
    private final AdamWConfig config;
    private final Moments[] moments;
    private final long[] t;

    AdamFamily(List<Tensor> params, AdamWConfig config, UpdateOptions options,
            BiFunction<Integer, Tensor, Moments> format) {
        super(params, config.lr(), options);
        this.config = config;
        this.moments = new Moments[params.size()];
        this.t = new long[params.size()];
        for (int i = 0; i < moments.length; i++) {
            moments[i] = format.apply(i, params.get(i));
        }
    }

    /** @return the hyperparameters given at construction (the live learning rate is {@link #lr()}) */
    public final AdamWConfig config() {
        return config;
    }

    /**
     * @param index parameter index
     * @return the storage format of its moments: {@code "fp32"}, {@code "block8"}, {@code "4bit-rank1"} or
     *     {@code "4bit-block"}
     */
    public final String stateFormat(int index) {
        return moments[index].tag();
    }

    /** @return how many steps parameter {@code index} has been updated */
    public final long parameterSteps(int index) {
        return t[index];
    }

    final Moments moments(int index) {
        return moments[index];
    }

    /** Checks that every name in {@code names} is a parameter's name. */
    static void requireNames(List<Tensor> params, Set<String> names) {
        for (String n : names) {
            if (params.stream().noneMatch(p -> n.equals(p.name()))) {
                throw new IllegalArgumentException("fp32StateParams names '" + n + "', which is no parameter's name");
            }
        }
    }

    /** Elements of a tensor, checked to fit one Java array. */
    static int elements(Tensor p, int index) {
        long n = p.value().length();
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("parameter " + index + " (" + p + ") has " + n
                    + " elements, at most " + (Integer.MAX_VALUE - 16) + " supported");
        }
        return (int) n;
    }

    @Override
    final Map<String, Double> hyperparameters() {
        Map<String, Double> h = new LinkedHashMap<>();
        h.put("beta1", config.beta1());
        h.put("beta2", config.beta2());
        h.put("eps", config.eps());
        h.put("weightDecay", config.weightDecay());
        return h;
    }

    @Override
    final void update(int index, FloatView p, FloatView g) {
        long step = ++t[index];
        AdamCoeffs c = AdamCoeffs.of(lr(), config.beta1(), config.beta2(), config.eps(), config.weightDecay(), step);
        moments[index].update(p.segment(), g.segment(), c, workers());
    }

    @Override
    final long stateBytes(int index) {
        return moments[index].bytes() + Long.BYTES;
    }

    @Override
    final void writeState(int index, DataOutputStream out) throws IOException {
        out.writeLong(t[index]);
        out.writeUTF(moments[index].tag());
        moments[index].write(out);
    }

    @Override
    final Runnable readState(int index, DataInputStream in, String what) throws IOException {
        long steps = in.readLong();
        if (steps < 0) {
            throw new StateFileException(what + ": corrupt step count " + steps);
        }
        String tag = in.readUTF();
        if (!tag.equals(moments[index].tag())) {
            throw new StateFileException(what + ": moments stored as " + tag + " in the file, this optimizer keeps "
                    + moments[index].tag());
        }
        Moments m = moments[index].read(in, what);
        return () -> {
            moments[index] = m;
            t[index] = steps;
        };
    }
}
