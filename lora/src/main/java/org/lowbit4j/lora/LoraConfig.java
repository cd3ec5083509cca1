package org.lowbit4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Hyper-parameters of low-rank adapters: {@code W x + scaling * B A dropout(x)} with A [r, in], B [out, r].
 *
 * @param rank r, in [1, 4096] (default {@value #DEFAULT_RANK})
 * @param alpha the LoRA alpha, finite and &gt; 0 (default {@value #DEFAULT_ALPHA})
 * @param dropout probability of zeroing an adapter input element during training, in [0, 1)
 *     (default 0); the base path never sees dropout, and evaluation mode switches it off
 * @param targetModules which linear layers get adapters, matched against each layer's dotted path
 *     (e.g. {@code layers.3.attention.wq}); an entry matches a path that equals it, ends with
 *     {@code "." + entry}, or that it matches as a whole Java regular expression. Not empty
 *     (default {@link #ALL_LINEARS}: every linear of attention and MLP, not the classifier)
 * @param scaling how the adapter output is scaled (default {@link Scaling#STANDARD}, alpha / r)
 * @param init how A is initialised; B always starts at zero, so the adapted layer starts equal to
 *     its base (default {@link Init#KAIMING_UNIFORM})
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules, Scaling scaling,
        Init init) {
    /** Default rank (QLoRA's tests and this project's fine-tuning use 8). */
    public static final int DEFAULT_RANK = 8;
    /** Default alpha: 16, so the standard scaling is 2. */
    public static final double DEFAULT_ALPHA = 16.0;
    /** Every linear layer of attention and MLP in a {@code Llama}. */
    public static final List<String> ALL_LINEARS = List.of("wq", "wk", "wv", "wo", "w1", "w2", "w3");
    /** The attention projections only (the original LoRA paper's choice). */
    public static final List<String> ATTENTION_ONLY = List.of("wq", "wk", "wv", "wo");

    /** The factor applied to {@code B A x}. */
    public enum Scaling {
        /** alpha / r (Hu et al., LoRA). */
        STANDARD,
        /** alpha / sqrt(r) (Kalajdzievski, rank-stabilised LoRA): keeps updates of high ranks from vanishing. */
        RANK_STABILIZED
    }

    /** Initialisation of A (B is zero either way). */
    public enum Init {
        /** Uniform in [-1/sqrt(in), 1/sqrt(in)], PyTorch's kaiming_uniform_ with a = sqrt(5) (as PEFT). */
        KAIMING_UNIFORM,
        /** Normal with standard deviation 1 / r (PEFT's "gaussian"). */
        GAUSSIAN
    }

    /**
     * @throws IllegalArgumentException naming the first bad field and its value
     */
    public LoraConfig {
        if (rank < 1 || rank > 4096) {
            throw new IllegalArgumentException("LoraConfig: rank must be in [1, 4096], got " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("LoraConfig: alpha must be finite and > 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoraConfig: dropout must be in [0, 1), got " + dropout);
        }
        if (targetModules == null || targetModules.isEmpty()) {
            throw new IllegalArgumentException("LoraConfig: targetModules must name at least one module");
        }
        targetModules = List.copyOf(targetModules);
        for (String t : targetModules) {
            if (t.isBlank()) {
                throw new IllegalArgumentException("LoraConfig: targetModules has a blank entry: " + targetModules);
            }
            try {
                Pattern.compile(t);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("LoraConfig: target '" + t + "' is not a valid regular expression: "
                        + e.getDescription(), e);
            }
        }
        if (scaling == null) {
            throw new IllegalArgumentException("LoraConfig: scaling must not be null");
        }
        if (init == null) {
            throw new IllegalArgumentException("LoraConfig: init must not be null");
        }
    }

    /** @return r = 8, alpha = 16, no dropout, all linears, alpha / r, Kaiming-uniform A */
    public static LoraConfig defaults() {
        return new LoraConfig(DEFAULT_RANK, DEFAULT_ALPHA, 0.0, ALL_LINEARS, Scaling.STANDARD, Init.KAIMING_UNIFORM);
    }

    /** @return the defaults with another rank and alpha */
    public static LoraConfig of(int rank, double alpha) {
        return new LoraConfig(rank, alpha, 0.0, ALL_LINEARS, Scaling.STANDARD, Init.KAIMING_UNIFORM);
    }

    /** @return a copy with another dropout */
    public LoraConfig withDropout(double p) {
        return new LoraConfig(rank, alpha, p, targetModules, scaling, init);
    }

    /** @return a copy with other target modules */
    public LoraConfig withTargets(List<String> targets) {
        return new LoraConfig(rank, alpha, dropout, targets, scaling, init);
    }

    /** @return a copy with another scaling rule */
    public LoraConfig withScaling(Scaling s) {
        return new LoraConfig(rank, alpha, dropout, targetModules, s, init);
    }

    /** @return a copy with another initialisation of A */
    public LoraConfig withInit(Init i) {
        return new LoraConfig(rank, alpha, dropout, targetModules, scaling, i);
    }

    /** @return the factor applied to the adapter output: alpha / r or alpha / sqrt(r) */
    public double scale() {
        return switch (scaling) {
            case STANDARD -> alpha / rank;
            case RANK_STABILIZED -> alpha / Math.sqrt(rank);
        };
    }

    /**
     * @param path a module's dotted path, e.g. {@code layers.0.feed_forward.w2}
     * @return whether some entry of {@link #targetModules()} selects it
     */
    public boolean targets(String path) {
        for (String t : targetModules) {
            if (path.equals(t) || path.endsWith("." + t) || Pattern.matches(t, path)) {
                return true;
            }
        }
        return false;
    }

    /** @return this config as a JSON object (field names as in the record) */
    public ObjectNode toJson(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.put("rank", rank);
        o.put("alpha", alpha);
        o.put("dropout", dropout);
        var arr = o.putArray("targetModules");
        targetModules.forEach(arr::add);
        o.put("scaling", scaling.name());
        o.put("init", init.name());
        return o;
    }

    /**
     * @param o an object written by {@link #toJson}
     * @return the config
     * @throws IllegalArgumentException naming a missing or ill-typed field, or one out of range
     */
    public static LoraConfig fromJson(JsonNode o) {
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("LoraConfig JSON must be an object, got " + o);
        }
        JsonNode targets = field(o, "targetModules");
        if (!targets.isArray()) {
            throw new IllegalArgumentException("LoraConfig JSON: targetModules must be an array, got " + targets);
        }
        var list = new java.util.ArrayList<String>();
        targets.forEach(t -> {
            if (!t.isTextual()) {
                throw new IllegalArgumentException("LoraConfig JSON: targetModules entries must be strings, got " + t);
            }
            list.add(t.asText());
        });
        JsonNode rank = field(o, "rank");
        if (!rank.isInt()) {
            throw new IllegalArgumentException("LoraConfig JSON: rank must be an integer, got " + rank);
        }
        return new LoraConfig(rank.asInt(), number(o, "alpha"), number(o, "dropout"), list,
                enumField(o, "scaling", Scaling.class), enumField(o, "init", Init.class));
    }

    private static JsonNode field(JsonNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("LoraConfig JSON: missing field '" + name + "'");
        }
        return v;
    }

    private static double number(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.isNumber()) {
            throw new IllegalArgumentException("LoraConfig JSON: " + name + " must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static <E extends Enum<E>> E enumField(JsonNode o, String name, Class<E> type) {
        String s = field(o, name).asText();
        try {
            return Enum.valueOf(type, s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("LoraConfig JSON: " + name + " must be one of "
                    + java.util.Arrays.toString(type.getEnumConstants()) + ", got '" + s + "'", e);
        }
    }
}
