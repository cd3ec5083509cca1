package org.lowbit4j.datasets.instruct;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PushbackReader;
import java.io.Reader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lowbit4j.datasets.MalformedDataException;

/**
 * Reads Alpaca-style records ({@code instruction}, {@code input}, {@code output}) from either a
 * JSON array file or a JSONL file (one object per line; blank lines ignored). The format is
 * detected from the first non-whitespace character ({@code [} array, <code>&#123;</code> JSONL; a UTF-8
 * byte-order mark is skipped). Both are read in one streaming pass (Jackson's streaming parser
 * for the array, one line at a time for JSONL), so a file is never held twice in memory.
 *
 * <p>A record must be a JSON object whose {@code instruction} and {@code output} are strings;
 * {@code input} may be a string, {@code null} or absent (then {@code ""}); other fields are
 * ignored. A malformed record is reported with its place: {@code line N} for JSONL, {@code record
 * I (line N)} for an array (I counts from 0), and the field. With {@link OnMalformed#SKIP} such
 * records are skipped and counted instead; invalid JSON on a JSONL line is skippable too, but a
 * syntax error inside a JSON array is always fatal (the parser cannot resynchronize).
 */
public final class InstructionReader {
    /** What to do with a malformed record. */
    public enum OnMalformed {
        /** Throw a {@link MalformedDataException} naming the place and field. */
        FAIL,
        /** Skip it, count it and keep its description in {@link Result#problems()}. */
        SKIP
    }

    /**
     * @param records the well-formed records, in file order
     * @param skipped number of malformed records skipped (0 with {@link OnMalformed#FAIL})
     * @param problems one message per skipped record (place and reason)
     */
    public record Result(List<InstructionRecord> records, int skipped, List<String> problems) {
        /** Copies the lists and checks that the counts agree. */
        public Result {
            records = List.copyOf(records);
            problems = List.copyOf(problems);
            if (skipped != problems.size()) {
                throw new IllegalArgumentException("skipped " + skipped + " != problems " + problems.size());
            }
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** For JSONL: a line must hold exactly one value (the streaming array parser must not check this). */
    private static final ObjectMapper LINE_MAPPER =
            new ObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private InstructionReader() {
    }

    /**
     * Reads all records, failing on the first malformed one.
     *
     * @param file JSON array or JSONL file
     * @return the records
     * @throws MalformedDataException on invalid JSON or a malformed record (names line / record
     *     index and field)
     * @throws IOException if the file cannot be read
     */
    public static List<InstructionRecord> read(Path file) throws IOException {
        return read(file, OnMalformed.FAIL).records();
    }

    /**
     * @param file JSON array or JSONL file
     * @param onMalformed fail or skip malformed records
     * @return records, skip count and skip reasons
     * @throws MalformedDataException on a malformed record with {@link OnMalformed#FAIL}, on a
     *     syntax error inside a JSON array, or if the file starts with neither {@code [} nor <code>&#123;</code>
     * @throws IOException if the file cannot be read
     */
    public static Result read(Path file, OnMalformed onMalformed) throws IOException {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (var in = new PushbackReader(new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder)), 1)) {
            int[] skippedLines = new int[1];
            int first = firstSignificant(in, skippedLines);
            if (first == -1) {
                throw new MalformedDataException(file, "empty file: expected a JSON array '[' or JSONL objects '{'");
            }
            in.unread(first);
            var sink = new Sink(file, onMalformed);
            switch (first) {
                case '[' -> readArray(file, in, sink, skippedLines[0]);
                case '{' -> readLines(file, in, sink, skippedLines[0]);
                default -> throw new MalformedDataException(file, "expected '[' (JSON array) or '{' (JSONL) as the first "
                        + "non-whitespace character, found '" + Character.toString(first) + "'");
            }
            return new Result(sink.records, sink.problems.size(), sink.problems);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new MalformedDataException(file, "not valid UTF-8: " + e.getMessage(), e);
        }
    }

    /** Skips whitespace and a byte-order mark, counting newlines; returns the first other char or -1. */
    private static int firstSignificant(Reader in, int[] newlines) throws IOException {
        int c;
        do {
            c = in.read();
            if (c == '\n') {
                newlines[0]++;
            }
        } while (c != -1 && (Character.isWhitespace(c) || c == '\uFEFF'));
        return c;
    }

    private static final class Sink {
        final Path file;
        final OnMalformed mode;
        final List<InstructionRecord> records = new ArrayList<>();
        final List<String> problems = new ArrayList<>();

        Sink(Path file, OnMalformed mode) {
            this.file = file;
            this.mode = mode;
        }

        void problem(String where, String what) throws MalformedDataException {
            if (mode == OnMalformed.FAIL) {
                throw new MalformedDataException(file, where + ": " + what);
            }
            problems.add(where + ": " + what);
        }

        void accept(String where, JsonNode node) throws MalformedDataException {
            if (!node.isObject()) {
                problem(where, "expected a JSON object, found " + node.getNodeType());
                return;
            }
            String instruction = field(node, "instruction", true);
            if (instruction == null) {
                problem(where, fieldProblem);
                return;
            }
            String input = field(node, "input", false);
            if (input == null) {
                problem(where, fieldProblem);
                return;
            }
            String output = field(node, "output", true);
            if (output == null) {
                problem(where, fieldProblem);
                return;
            }
            records.add(new InstructionRecord(instruction, input, output));
        }

        private String fieldProblem;

        /** @return the field's text, "" for an optional absent/null field, or null (reason in fieldProblem) */
        private String field(JsonNode node, String name, boolean required) {
            var v = node.get(name);
            if (v == null || v.isNull()) {
                if (required) {
                    fieldProblem = "field \"" + name + "\" is " + (v == null ? "missing" : "null") + ", expected a string";
                    return null;
                }
                return "";
            }
            if (!v.isTextual()) {
                fieldProblem = "field \"" + name + "\" is not a string (found " + v.getNodeType() + ")";
                return null;
            }
            return v.textValue();
        }
    }

    private static void readArray(Path file, Reader in, Sink sink, int lineOffset) throws IOException {
        try (JsonParser p = MAPPER.createParser(in)) {
            p.nextToken(); // START_ARRAY, checked by the caller
            int index = 0;
            while (true) {
                JsonToken t = p.nextToken();
                if (t == JsonToken.END_ARRAY) {
                    break;
                }
                if (t == null) {
                    throw new MalformedDataException(file, "unexpected end of file inside the JSON array after record "
                            + (index - 1) + " (missing ']')");
                }
                int line = p.currentTokenLocation().getLineNr() + lineOffset;
                JsonNode node = MAPPER.readTree(p);
                sink.accept("record " + index + " (line " + line + ")", node);
                index++;
            }
            if (p.nextToken() != null) {
                throw new MalformedDataException(file, "unexpected content after the closing ']' at line "
                        + (p.currentTokenLocation().getLineNr() + lineOffset));
            }
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new MalformedDataException(file, "invalid JSON" + (loc == null ? "" : " at line " + (loc.getLineNr() + lineOffset)
                    + ", column " + loc.getColumnNr()) + ": " + e.getOriginalMessage(), e);
        }
    }

    private static void readLines(Path file, Reader in, Sink sink, int lineOffset) throws IOException {
        var lines = new BufferedReader(in);
        String line;
        int lineNo = lineOffset;
        while ((line = lines.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String where = "line " + lineNo;
            JsonNode node;
            try {
                node = LINE_MAPPER.readTree(line);
            } catch (JsonProcessingException e) {
                sink.problem(where, "invalid JSON: " + e.getOriginalMessage());
                continue;
            }
            sink.accept(where, node);
        }
    }
}
