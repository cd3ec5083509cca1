package org.lowbit4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.GradientCheck;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ModuleTest {
    /** A two-layer MLP-ish block that looks its children up by name at forward time. */
    static final class Block extends Layer {
        Block(DataType dt, long seed) {
            addChild("norm", new RmsNorm(4, RmsNorm.DEFAULT_EPS, dt));
            addChild("up", new Linear(4, 6, dt, seed));
            addChild("down", new Linear(6, 4, dt, seed + 1));
        }

        @Override
        public Tensor forward(Tensor x) {
            return layer("down").forward(F.silu(layer("up").forward(layer("norm").forward(x))));
        }
    }

    static final class Net extends Module {
        final Embedding emb;

        Net(DataType dt) {
            emb = addChild("emb", new Embedding(10, 4, dt, 1));
            ModuleList layers = addChild("layers", new ModuleList());
            layers.add(new Block(dt, 10));
            layers.add(new Block(dt, 20));
        }
    }

    @Test
    void hierarchicalNamesInRegistrationOrder() {
        var net = new Net(DataType.FLOAT);
        assertEquals(List.of("emb.weight", "layers.0.norm.weight", "layers.0.up.weight", "layers.0.down.weight",
                "layers.1.norm.weight", "layers.1.up.weight", "layers.1.down.weight"),
                List.copyOf(net.namedParameters().keySet()));
        for (var e : net.namedParameters().entrySet()) {
            assertEquals(e.getKey(), e.getValue().name(), "tensor carries its full name");
        }
        assertEquals(10 * 4 + 2 * (4 + 24 + 24), net.parameterCount());
        assertEquals("layers.1.up", ((ModuleList) net.child("layers")).get(1).child("up").path());
        assertEquals(List.of("emb", "layers"), List.copyOf(net.children().keySet()));
    }

    @Test
    void replaceChildRenamesKeepsOrderAndTakesEffect() {
        var net = new Net(DataType.DOUBLE);
        var list = (ModuleList) net.child("layers");
        Tensor x = Tensor.constant(Nd4j.rand(DataType.DOUBLE, 2, 4));
        Block b0 = (Block) list.get(0);
        INDArray before = b0.forward(x).value();
        var replacement = new Linear(Nd4j.eye(4).castTo(DataType.DOUBLE).muli(3));
        Module old = b0.replaceChild("down", new Wrapped(new Linear(6, 4, DataType.DOUBLE, 11), replacement));
        assertEquals(List.of("layers.0.norm.weight", "layers.0.up.weight", "layers.0.down.inner.weight",
                "layers.0.down.post.weight"), net.namedParameters().keySet().stream()
                .filter(n -> n.startsWith("layers.0")).toList());
        assertNotEquals(0.0, before.sub(b0.forward(x).value()).amaxNumber().doubleValue());
        b0.replaceChild("down", old);
        assertEquals(0.0, before.sub(b0.forward(x).value()).amaxNumber().doubleValue());
        assertEquals("layers.0.down.weight", ((Linear) old).weight().name());
        assertTrue(net.path().isEmpty(), "a root has an empty path");
    }

    /** inner then a fixed post-projection. */
    static final class Wrapped extends Layer {
        Wrapped(Linear inner, Linear post) {
            addChild("inner", inner);
            addChild("post", post);
        }

        @Override
        public Tensor forward(Tensor x) {
            return layer("post").forward(layer("inner").forward(x));
        }
    }

    @Test
    void replaceChildErrors() {
        var b = new Block(DataType.FLOAT, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> b.replaceChild("nope", new ModuleList()));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("[norm, up, down]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.replaceChild("up", new ModuleList()));
        assertTrue(e.getMessage().contains("is a Layer"), e.getMessage());
        var net = new Net(DataType.FLOAT);
        e = assertThrows(IllegalArgumentException.class, () -> net.child("missing"));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        var ex = assertThrows(IndexOutOfBoundsException.class, () -> ((ModuleList) net.child("layers")).get(2));
        assertTrue(ex.getMessage().contains("[0, 2)"), ex.getMessage());
    }

    @Test
    void duplicateAndDottedNamesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Module() {
            {
                addChild("a", new ModuleList());
                addChild("a", new ModuleList());
            }
        });
        assertTrue(e.getMessage().contains("'a' is already taken"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Module() {
            {
                registerParameter("x.y", Nd4j.zeros(DataType.FLOAT, 2));
            }
        });
        assertTrue(e.getMessage().contains("x.y"), e.getMessage());
    }

    @Test
    void tiedParametersAppearOnceUnderTheirFirstName() {
        var shared = Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 3, 2));
        var m = new Module() {
            {
                addChild("a", new Linear(shared));
                addChild("b", new Linear(shared));
            }
        };
        assertEquals(List.of("a.weight"), List.copyOf(m.namedParameters().keySet()));
        assertEquals(6, m.parameterCount());
    }

    @Test
    void zeroGradTrainEvalAndFreezing() {
        var net = new Net(DataType.DOUBLE);
        var b = (Block) ((ModuleList) net.child("layers")).get(1);
        Tensor x = Tensor.constant(Nd4j.rand(DataType.DOUBLE, 3, 4));
        F.sum(b.forward(x), false).backward();
        assertTrue(b.parameters().stream().allMatch(p -> p.grad() != null));
        net.zeroGrad();
        assertTrue(net.parameters().stream().allMatch(p -> p.grad() == null));
        net.eval();
        assertFalse(b.child("up").isTraining());
        net.train(true);
        assertTrue(b.child("up").isTraining());
        var up = (Linear) b.child("up");
        Tensor frozen = Tensor.constant(up.weight().value());
        Tensor old = up.replaceParameter("weight", frozen);
        assertSame(frozen, up.weight());
        assertEquals("layers.1.up.weight", frozen.name());
        assertEquals(6, net.trainableParameters().size());
        assertEquals(7, net.parameters().size());
        F.sum(b.forward(x), false).backward();
        assertNull(frozen.grad());
        assertNull(old.grad());
        var e = assertThrows(IllegalArgumentException.class,
                () -> up.replaceParameter("weight", Tensor.constant(Nd4j.zeros(DataType.DOUBLE, 2, 2))));
        assertTrue(e.getMessage().contains("[6, 4]") && e.getMessage().contains("[2, 2]"), e.getMessage());
    }

    @Test
    void layersForwardAgreeWithPlainLoopsAndHaveExactGradients() {
        var lin = new Linear(5, 3, DataType.DOUBLE, 9);
        INDArray xv = Nd4j.rand(DataType.DOUBLE, 2, 5);
        INDArray y = lin.forward(Tensor.constant(xv)).value();
        INDArray w = lin.weight().value();
        for (int i = 0; i < 2; i++) {
            for (int o = 0; o < 3; o++) {
                double s = 0;
                for (int k = 0; k < 5; k++) {
                    s += xv.getDouble(i, k) * w.getDouble(o, k);
                }
                assertEquals(s, y.getDouble(i, o), 1e-12);
            }
        }
        var norm = new RmsNorm(5, 1e-5, DataType.DOUBLE);
        norm.weight().value().assign(Nd4j.rand(DataType.DOUBLE, 5));
        INDArray n = norm.forward(Tensor.constant(xv)).value();
        for (int i = 0; i < 2; i++) {
            double ss = 0;
            for (int k = 0; k < 5; k++) {
                ss += xv.getDouble(i, k) * xv.getDouble(i, k);
            }
            double r = 1 / Math.sqrt(ss / 5 + 1e-5);
            for (int k = 0; k < 5; k++) {
                assertEquals(xv.getDouble(i, k) * r * norm.weight().value().getDouble(k), n.getDouble(i, k), 1e-12);
            }
        }
        var emb = new Embedding(7, 3, DataType.DOUBLE, 2);
        INDArray idx = Nd4j.createFromArray(new int[][] {{6, 0}, {6, 3}});
        INDArray rows = emb.forward(idx).value();
        assertEquals(0.0, rows.get(org.nd4j.linalg.indexing.NDArrayIndex.point(1),
                org.nd4j.linalg.indexing.NDArrayIndex.point(1)).sub(emb.weight().value().getRow(3)).amaxNumber()
                .doubleValue());
        var block = new Block(DataType.DOUBLE, 4);
        block.child("norm").parameter("weight").value().assign(Nd4j.rand(DataType.DOUBLE, 4).addi(0.5));
        Tensor xin = Tensor.parameter(Nd4j.rand(DataType.DOUBLE, 3, 4));
        GradientCheck.assertGradients("block", () -> block.forward(xin),
                List.of(xin, block.child("norm").parameter("weight"), block.child("up").parameter("weight"),
                        block.child("down").parameter("weight")).toArray(Tensor[]::new));
    }

    @Test
    void seededInitIsDeterministicWithTheDocumentedStatistics() {
        INDArray a = Init.normal(new SplittableRandom(5), 0.02, DataType.FLOAT, 200, 100);
        INDArray b = Init.normal(new SplittableRandom(5), 0.02, DataType.FLOAT, 200, 100);
        INDArray c = Init.normal(new SplittableRandom(6), 0.02, DataType.FLOAT, 200, 100);
        assertEquals(a, b);
        assertNotEquals(a, c);
        assertEquals(0.0, a.meanNumber().doubleValue(), 0.001);
        assertEquals(0.02, a.stdNumber().doubleValue(), 0.0005);
        // the first value is the first gaussian of the RNG, row-major
        assertEquals((float) (0.02 * new SplittableRandom(5).nextGaussian()), a.getFloat(0, 0));
        INDArray d = Init.normal(new SplittableRandom(5), 0.02, DataType.DOUBLE, 200, 100);
        assertEquals(0.02 * new SplittableRandom(5).nextGaussian(), d.getDouble(0, 0));
        assertEquals(new Linear(4, 3, DataType.FLOAT, 8).weight().value(), new Linear(4, 3, DataType.FLOAT, 8)
                .weight().value());
        var e = assertThrows(IllegalArgumentException.class,
                () -> Init.normal(new SplittableRandom(1), 1, DataType.FLOAT, 100_000, 100_000));
        assertTrue(e.getMessage().contains("2^31"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Init.normal(new SplittableRandom(1), 1, DataType.INT32, 2));
        assertTrue(e.getMessage().contains("got INT"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Linear(Nd4j.zeros(DataType.FLOAT, 3)));
        assertTrue(e.getMessage().contains("[out, in]"), e.getMessage());
    }
}
