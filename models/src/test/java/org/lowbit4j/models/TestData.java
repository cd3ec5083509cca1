package org.lowbit4j.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import org.lowbit4j.datasets.SharedData;

/** Real data under {@code -Dlowbit4j.sharedData}; a missing file fails the test (never skips). */
final class TestData {
    private TestData() {
    }

    static Path file(String relative) {
        return SharedData.file(relative);
    }

    static Path model() {
        return file("models/stories260K.bin");
    }

    static Path tokenizer() {
        return file("models/tok512.bin");
    }

    static JsonNode golden() throws IOException {
        return new ObjectMapper().readTree(file("golden/stories260K_greedy.json").toFile());
    }
}
