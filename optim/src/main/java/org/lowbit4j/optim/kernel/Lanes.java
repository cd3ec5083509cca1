package org.lowbit4j.optim.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vector shapes and code packing shared by the kernels: 8 float/int lanes, 8 byte lanes. */
final class Lanes {
    // NOTE: a fixed 8-lane shape keeps int -> byte narrowing (a 64-bit byte vector) and the 8-nibble packing
    // into one int valid on any AVX2 or AVX-512 machine.
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    static final int LANES = 8;
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class,
            ByteOrder.LITTLE_ENDIAN);
    /** Bit offsets of 8 nibbles in a little-endian int: element 2k low nibble of byte k. */
    private static final IntVector SHIFTS = IntVector.fromArray(I, new int[] {0, 4, 8, 12, 16, 20, 24, 28}, 0);

    private Lanes() {
    }

    /** @return the unsigned byte codes of elements {@code [off, off + 8)} */
    static IntVector bytes(byte[] codes, int off) {
        return ((IntVector) ByteVector.fromArray(B, codes, off).convertShape(VectorOperators.B2I, I, 0)).and(0xFF);
    }

    /** Stores 8 codes (0..255) as bytes at {@code [off, off + 8)}. */
    static void storeBytes(IntVector codes, byte[] out, int off) {
        ((ByteVector) codes.convertShape(VectorOperators.I2B, B, 0)).intoArray(out, off);
    }

    /** @return the 4-bit codes of elements {@code [e, e + 8)} of a nibble-packed array; {@code e} even */
    static IntVector nibbles(byte[] codes, int e) {
        int w = (int) INT_LE.get(codes, e >> 1);
        return IntVector.broadcast(I, w).lanewise(VectorOperators.LSHR, SHIFTS).and(0xF);
    }

    /** Stores 8 codes (0..15) as the nibbles of elements {@code [e, e + 8)}; {@code e} even. */
    static void storeNibbles(IntVector codes, byte[] out, int e) {
        INT_LE.set(out, e >> 1, codes.lanewise(VectorOperators.LSHL, SHIFTS).reduceLanes(VectorOperators.OR));
    }
}
