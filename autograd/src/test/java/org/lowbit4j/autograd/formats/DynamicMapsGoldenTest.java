package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * The dynamic maps against golden vectors produced by PyTorch (float32 {@code linspace}, as
 * bitsandbytes builds them): {@code src/test/resources/golden/make_dynamic_maps.py}.
 */
class DynamicMapsGoldenTest {
    private static JsonNode golden() throws Exception {
        try (InputStream in = DynamicMapsGoldenTest.class.getResourceAsStream("/golden/dynamic_maps.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static int ulpsApart(float a, float b) {
        int ia = Float.floatToIntBits(a);
        int ib = Float.floatToIntBits(b);
        // map to a monotone integer line so that the distance counts representable floats
        ia = ia < 0 ? Integer.MIN_VALUE - ia : ia;
        ib = ib < 0 ? Integer.MIN_VALUE - ib : ib;
        return Math.abs(ia - ib);
    }

    private static int compare(String name, float[] ours, JsonNode ref) {
        assertEquals(ref.size(), ours.length, name + " length");
        int maxUlps = 0;
        int exact = 0;
        for (int i = 0; i < ours.length; i++) {
            float r = (float) ref.get(i).asDouble();
            int d = ulpsApart(ours[i], r);
            assertTrue(d <= 1, name + "[" + i + "] = " + ours[i] + ", PyTorch reference " + r + " (" + d + " ulps)");
            maxUlps = Math.max(maxUlps, d);
            exact += d == 0 ? 1 : 0;
        }
        System.out.printf("%s: %d of %d entries bit-exact vs PyTorch, max %d ulp%n", name, exact, ours.length, maxUlps);
        return exact;
    }

    @Test
    void mapsMatchPyTorchFloat32ConstructionWithinOneUlp() throws Exception {
        JsonNode g = golden();
        compare("signed8", DynamicMaps.signed8(), g.get("signed8"));
        compare("unsigned8", DynamicMaps.unsigned8(), g.get("unsigned8"));
        compare("signed4", DynamicMaps.signed4(), g.get("signed4"));
    }
}
