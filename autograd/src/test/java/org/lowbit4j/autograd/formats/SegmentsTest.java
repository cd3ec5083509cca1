package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class SegmentsTest {
    /** A row view starts inside its parent's buffer: the segment must start at the row, not past it. */
    @Test
    void viewWithOffsetMapsItsOwnElements() {
        var m = Nd4j.createFromArray(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}).reshape(3, 4);
        for (int r = 0; r < 3; r++) {
            var row = m.getRow(r);
            MemorySegment s = Segments.of(row);
            assertEquals(4 * 4, s.byteSize());
            for (int j = 0; j < 4; j++) {
                assertEquals(4 * r + j, s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j), "row " + r + " element " + j);
            }
        }
        var tail = m.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all());
        assertEquals(4f, Segments.of(tail).getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
        assertEquals(11f, Segments.of(tail).getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 7));
    }

    @Test
    void rejectsNonContiguousViews() {
        var m = Nd4j.create(DataType.FLOAT, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> Segments.of(m.getColumn(1)));
    }
}
