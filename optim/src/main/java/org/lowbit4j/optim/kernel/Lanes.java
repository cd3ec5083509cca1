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

    static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class,
            ByteOrder.LITTLE_ENDIAN);
    /** Bit offsets of 8 nibbles in a little-endian int: element 2k low nibble of byte k. */
    static final IntVector SHIFTS = IntVector.fromArray(I, new int[] {0, 4, 8, 12, 16, 20, 24, 28}, 0);

    private Lanes() {
    }

    // NOTE: the kernels spell out nibble loads and stores inline: a helper that takes or returns a vector
    // and that C2 declines to inline ("callee uses too much stack") boxes the vector on every call.
    // Load of the 4-bit codes of elements [e, e + 8), e even:
    //     IntVector.broadcast(I, (int) INT_LE.get(codes, e >> 1)).lanewise(LSHR, SHIFTS).and(0xF)
    // Store of 8 codes 0..15 there:
    //     INT_LE.set(codes, e >> 1, code.lanewise(LSHL, SHIFTS).reduceLanes(OR))
}
