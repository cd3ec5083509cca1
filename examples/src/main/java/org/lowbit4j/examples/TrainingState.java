package org.lowbit4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.datasets.AtomicFiles;
import org.lowbit4j.mixedprec.LossScaler;
import org.lowbit4j.mixedprec.fp8.Fp8Policy;
import org.lowbit4j.optim.Optimizer;

/**
 * The training state a run writes next to its model so that {@code --resume} continues it exactly: the optimizer
 * ({@code optimizer.state}), the loss scaler ({@code loss_scaler.json}, when there is one), the FP8 amax histories and
 * scales ({@code fp8_state.json}, under FP8) and the step count ({@code trainer.json}).
 */
final class TrainingState {
    private static final String FORMAT = "lowbit4j-trainer";

    private TrainingState() {
    }

    /**
     * @param stepsDone loop iterations completed (skipped steps included)
     * @throws IOException on a write failure (each file is written atomically)
     */
    static void save(Path dir, Optimizer opt, LossScaler scaler, Autocast.Policy policy, int stepsDone)
            throws IOException {
        opt.save(dir.resolve("optimizer.state"));
        if (scaler != null) {
            scaler.save(dir.resolve("loss_scaler.json"));
        }
        if (policy instanceof Fp8Policy fp8) {
            fp8.save(dir.resolve("fp8_state.json"));
        }
        String json = Cli.object().put("format", FORMAT).put("steps_done", stepsDone)
                .put("loss_scaler", scaler != null).put("fp8", policy instanceof Fp8Policy) + "\n";
        AtomicFiles.write(dir.resolve("trainer.json"), out -> out.write(json.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Loads what {@link #save} wrote into freshly made objects of the same configuration.
     *
     * @return the loop iterations the saved run had completed
     * @throws IllegalArgumentException naming the file if the state does not match this run (a loss scaler or FP8
     *     state present in one and not the other, a foreign file)
     * @throws IOException on a read failure
     */
    static int restore(Path dir, Optimizer opt, LossScaler scaler, Autocast.Policy policy) throws IOException {
        Path file = dir.resolve("trainer.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--resume: " + file + " is missing (not the output directory of a run)");
        }
        JsonNode t = Cli.JSON.readTree(file.toFile());
        if (!FORMAT.equals(t.path("format").asText()) || !t.path("steps_done").canConvertToInt()
                || t.path("steps_done").asInt() < 0) {
            throw new IllegalArgumentException(file + ": field 'format' expected \"" + FORMAT
                    + "\" and 'steps_done' a count >= 0, got " + t);
        }
        check(file, "loss_scaler", t.path("loss_scaler").asBoolean(), scaler != null);
        check(file, "fp8", t.path("fp8").asBoolean(), policy instanceof Fp8Policy);
        opt.load(dir.resolve("optimizer.state"));
        if (scaler != null) {
            scaler.load(dir.resolve("loss_scaler.json"));
        }
        if (policy instanceof Fp8Policy fp8) {
            fp8.load(dir.resolve("fp8_state.json"));
        }
        return t.path("steps_done").asInt();
    }

    private static void check(Path file, String field, boolean saved, boolean now) {
        if (saved != now) {
            throw new IllegalArgumentException(file + ": field '" + field + "' is " + saved + " but this run's "
                    + "precision options make it " + now + " (resume with the same --precision and --loss-scale)");
        }
    }
}
