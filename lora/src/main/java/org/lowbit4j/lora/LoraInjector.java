package org.lowbit4j.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.models.Llama;
import org.lowbit4j.nn.Linear;
import org.lowbit4j.nn.Module;

/**
 * Wraps the target linear layers of a model in {@link LoraLinear}s and freezes everything else.
 */
public final class LoraInjector {
    /** NF4 block size of QLoRA (elements per absmax). */
    public static final int NF4_BLOCK = 64;

    private LoraInjector() {
    }

    /**
     * Replaces every {@link Linear} or {@link FrozenLinear} whose path {@link LoraConfig#targets} selects
     * by a {@link LoraLinear} over its weight stored in {@code format} (an existing {@link FrozenLinear}
     * keeps its stored weight as is), then turns every remaining trainable parameter of the model
     * (embeddings, norms, untargeted linears, classifier) into a constant. Afterwards only the adapters
     * train. Quantizing to NF4 releases the model's fp32 copy of each wrapped weight.
     *
     * @param model the model (FLOAT; DOUBLE only with {@link BaseFormat#FP32})
     * @param config the adapters
     * @param format storage of the wrapped bases
     * @param seed seeds layer i's adapters with {@code seed + i}
     * @return what was wrapped and what it costs
     * @throws IllegalArgumentException if nothing matches the targets, the model already has adapters,
     *     or a DOUBLE model is asked for a compressed format
     */
    public static InjectionReport inject(Llama model, LoraConfig config, BaseFormat format, long seed) {
        if (format != BaseFormat.FP32 && model.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT) {
            throw new IllegalArgumentException("a " + format + " base needs a FLOAT model, got " + model.dataType());
        }
        var sites = new ArrayList<Site>();
        collect(model, sites);
        for (Site s : sites) {
            if (s.child instanceof LoraLinear) {
                throw new IllegalArgumentException("model already has adapters (at '" + s.child.path()
                        + "'); load or merge them instead of injecting again");
            }
        }
        var wrapped = new ArrayList<String>();
        long baseParams = 0;
        long baseBytes = 0;
        int i = 0;
        for (Site s : sites) {
            String path = s.child.path();
            if (!config.targets(path)) {
                continue;
            }
            FrozenWeight w = switch (s.child) {
                case Linear l -> FrozenWeight.of(l.weight().value(), format, NF4_BLOCK);
                case FrozenLinear f -> f.weight();
                default -> null;
            };
            if (w == null) {
                continue;
            }
            s.parent.replaceChild(s.name, new LoraLinear(w, config, seed + i++));
            wrapped.add(path);
            baseParams += w.numel();
            baseBytes += w.storageBytes();
        }
        if (wrapped.isEmpty()) {
            throw new IllegalArgumentException("no linear layer matches targetModules " + config.targetModules()
                    + "; linear layers are " + sites.stream().map(x -> x.child.path()).toList());
        }
        freezeAllButAdapters(model);
        return report(model, format, wrapped, baseParams, baseBytes);
    }

    /**
     * Replaces every trainable parameter that is not a LoRA factor by a constant with the same value.
     *
     * @param model any module tree
     */
    public static void freezeAllButAdapters(Module model) {
        freeze(model);
    }

    private static void freeze(Module m) {
        if (!(m instanceof LoraLinear)) {
            for (var e : List.copyOf(m.localParameters().entrySet())) {
                if (e.getValue().requiresGrad()) {
                    m.replaceParameter(e.getKey(), Tensor.constant(e.getValue().value()));
                }
            }
        }
        for (Module c : m.children().values()) {
            freeze(c);
        }
    }

    /** Builds the report of an injected model. */
    static InjectionReport report(Llama model, BaseFormat format, List<String> wrapped, long baseParams,
            long baseBytes) {
        long trainable = 0;
        long frozen = 0;
        long frozenBytes = 0;
        for (Tensor t : model.namedParameters().values()) {
            if (t.requiresGrad()) {
                trainable += t.value().length();
            } else {
                frozen += t.value().length();
                frozenBytes += t.value().length() * t.value().dataType().width();
            }
        }
        var sites = new ArrayList<Site>();
        collect(model, sites);
        for (Site s : sites) {
            FrozenWeight w = s.child instanceof LoraLinear l ? l.base()
                    : s.child instanceof FrozenLinear f ? f.weight() : null;
            if (w != null) {
                frozen += w.numel();
                frozenBytes += w.storageBytes();
            }
        }
        return new InjectionReport(format, wrapped, trainable, frozen, frozenBytes, baseParams, baseBytes);
    }

    /** A linear-like child and where it hangs. */
    record Site(Module parent, String name, Module child) {
    }

    /** Every Linear, FrozenLinear and LoraLinear of the tree, depth-first in registration order. */
    static void collect(Module m, List<Site> out) {
        for (Map.Entry<String, Module> e : m.children().entrySet()) {
            Module c = e.getValue();
            if (c instanceof Linear || c instanceof FrozenLinear || c instanceof LoraLinear) {
                out.add(new Site(m, e.getKey(), c));
            } else {
                collect(c, out);
            }
        }
    }
}
