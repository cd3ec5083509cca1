package org.lowbit4j.autograd.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * oneDNN's matmul primitive (its 2.x C API: {@code dnnl_matmul_desc_init}, {@code dnnl_primitive_create},
 * {@code dnnl_primitive_execute}) bound through the FFM API, for bf16 x bf16 -> fp32 products.
 *
 * <p>Why beside {@code dnnl_gemm_bf16bf16f32}: oneDNN's BLAS-like gemm entry point packs both operands
 * on every call and, with AMX, spends time in proportion to M x N whatever K is; on the classifier's
 * [2048, 288] x [32000, 288]^T it ran at 340 GF/s (the fp32 GEMM's speed), where the matmul primitive's
 * brgemm kernels ran at 700-750. The primitive wins on every product whose A is not transposed and whose
 * K is moderate (the forward products, the input gradients, attention); the gemm entry point stays
 * better for A^T B (weight gradients) and for a very long K. {@link #suits} states that rule; it is fixed
 * (not timed at run time), so results are reproducible.
 *
 * <p>A primitive is made once per shape, layout and thread count (a JIT compile of about 1 ms) and kept
 * in a small LRU cache. Executions are serialised: one stream, and memory objects whose data handles are
 * set per call.
 *
 * <p>Memory descriptors and the op descriptor are opaque structs written by the library; they are given
 * generous fixed sizes ({@link #MD_BYTES}, {@link #OP_DESC_BYTES}) well above their 2.x sizes.
 */
@SuppressWarnings("restricted")
final class OneDnnMatmul {
    /** Products with a longer K stay on the gemm entry point (it was 1.7x faster at K = 32000). */
    static final long MAX_K = 8192;

    private static final long MD_BYTES = 4096;
    private static final long OP_DESC_BYTES = 16384;
    private static final int CACHE_SIZE = 64;
    private static final int ENGINE_CPU = 1;
    private static final int STREAM_IN_ORDER = 1;
    private static final int DT_BF16 = 2;
    private static final int DT_F32 = 3;
    private static final int ARG_SRC = 1;
    private static final int ARG_DST = 17;
    private static final int ARG_WEIGHTS = 33;
    private static final int QUERY_IMPL_INFO_STR = 8;

    private final MethodHandle memoryDescInitByStrides;
    private final MethodHandle matmulDescInit;
    private final MethodHandle primitiveDescCreate;
    private final MethodHandle primitiveDescQuery;
    private final MethodHandle primitiveDescDestroy;
    private final MethodHandle primitiveCreate;
    private final MethodHandle primitiveDestroy;
    private final MethodHandle primitiveExecute;
    private final MethodHandle memoryCreate;
    private final MethodHandle memorySetDataHandle;
    private final MethodHandle memoryDestroy;
    private final MethodHandle streamWait;
    private final MemorySegment engine;
    private final MemorySegment stream;
    private final Map<Key, Prim> cache = new LinkedHashMap<>(16, 0.75f, true);
    private String implementation = "?";

    private OneDnnMatmul(Map<String, MethodHandle> h, MemorySegment engine, MemorySegment stream) {
        memoryDescInitByStrides = h.get("dnnl_memory_desc_init_by_strides");
        matmulDescInit = h.get("dnnl_matmul_desc_init");
        primitiveDescCreate = h.get("dnnl_primitive_desc_create");
        primitiveDescQuery = h.get("dnnl_primitive_desc_query");
        primitiveDescDestroy = h.get("dnnl_primitive_desc_destroy");
        primitiveCreate = h.get("dnnl_primitive_create");
        primitiveDestroy = h.get("dnnl_primitive_destroy");
        primitiveExecute = h.get("dnnl_primitive_execute");
        memoryCreate = h.get("dnnl_memory_create");
        memorySetDataHandle = h.get("dnnl_memory_set_data_handle");
        memoryDestroy = h.get("dnnl_memory_destroy");
        streamWait = h.get("dnnl_stream_wait");
        this.engine = engine;
        this.stream = stream;
    }

    /**
     * Binds the matmul API of a loaded oneDNN and makes its CPU engine and stream.
     *
     * @param lookup the library's symbols
     * @return the binding, or empty if the library lacks the 2.x matmul API (e.g. oneDNN 3.x, whose
     *     descriptors differ) or the engine cannot be made
     */
    static Optional<OneDnnMatmul> bind(SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        Map<String, FunctionDescriptor> sigs = new LinkedHashMap<>();
        sigs.put("dnnl_engine_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
        sigs.put("dnnl_stream_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        sigs.put("dnnl_stream_wait", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        sigs.put("dnnl_memory_desc_init_by_strides",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        sigs.put("dnnl_matmul_desc_init", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        sigs.put("dnnl_primitive_desc_create",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        sigs.put("dnnl_primitive_desc_query", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        sigs.put("dnnl_primitive_desc_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        sigs.put("dnnl_primitive_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        sigs.put("dnnl_primitive_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        sigs.put("dnnl_primitive_execute", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        sigs.put("dnnl_memory_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        sigs.put("dnnl_memory_set_data_handle", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        sigs.put("dnnl_memory_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        Map<String, MethodHandle> h = new LinkedHashMap<>();
        for (var e : sigs.entrySet()) {
            var symbol = lookup.find(e.getKey());
            if (symbol.isEmpty()) {
                return Optional.empty();
            }
            h.put(e.getKey(), linker.downcallHandle(symbol.get(), e.getValue()));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            if ((int) h.get("dnnl_engine_create").invokeExact(out, ENGINE_CPU, 0L) != OneDnnLibrary.SUCCESS) {
                return Optional.empty();
            }
            MemorySegment engine = out.get(ADDRESS, 0);
            if ((int) h.get("dnnl_stream_create").invokeExact(out, engine, STREAM_IN_ORDER) != OneDnnLibrary.SUCCESS) {
                return Optional.empty();
            }
            return Optional.of(new OneDnnMatmul(h, engine, out.get(ADDRESS, 0)));
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    /**
     * Whether a row-major product is one this primitive runs faster than the gemm entry point
     * (measured on the stories15M shapes, AMX): A not transposed, K at most {@link #MAX_K}, alpha 1 and
     * beta 0 (the primitive here has no scaling or accumulation).
     */
    static boolean suits(boolean transA, long k, float alpha, float beta) {
        return !transA && k <= MAX_K && alpha == 1f && beta == 0f;
    }

    /** @return oneDNN's name for the kernel of the last primitive made, e.g. {@code brg:avx512_core_amx_bf16} */
    synchronized String implementation() {
        return implementation;
    }

    /**
     * C[i] = op(A[i]) op(B[i]) over every index i of the batch dimensions, bf16 operands, fp32 C (overwritten).
     * Each operand is given by its address and its strides in elements, as the matrix the product reads:
     * op(A) [..., M, K], op(B) [..., K, N], C [..., M, N] (a transposed operand simply has its last two strides
     * swapped).
     *
     * @param threads OpenMP threads the primitive is made for (and run with: the caller sets them)
     * @param batch the batch dimensions' sizes (empty for one matrix), all at least 1
     * @param sa strides of op(A), batch.length + 2 of them; likewise sb for op(B) and sc for C
     * @return false if oneDNN has no implementation for this layout (the caller then loops the gemm entry point)
     * @throws IllegalStateException if a call fails
     */
    synchronized boolean multiply(int threads, long[] batch, long m, long n, long k, long a, long[] sa, long b,
            long[] sb, long c, long[] sc) {
        int r = batch.length + 2;
        if (sa.length != r || sb.length != r || sc.length != r) {
            throw new IllegalArgumentException("strides must number batch dims + 2 = " + r);
        }
        long[] sig = new long[4 + batch.length + 3 * r];
        sig[0] = threads;
        sig[1] = m;
        sig[2] = n;
        sig[3] = k;
        System.arraycopy(batch, 0, sig, 4, batch.length);
        System.arraycopy(sa, 0, sig, 4 + batch.length, r);
        System.arraycopy(sb, 0, sig, 4 + batch.length + r, r);
        System.arraycopy(sc, 0, sig, 4 + batch.length + 2 * r, r);
        Key key = new Key(batch.length, sig);
        Prim p = cache.get(key);
        if (p == null) {
            p = create(batch, m, n, k, sa, sb, sc);
            cache.put(key, p);
            if (cache.size() > CACHE_SIZE) {
                var eldest = cache.entrySet().iterator();
                Prim old = eldest.next().getValue();
                eldest.remove();
                old.destroy(this);
            }
        }
        if (p.primitive == null) {
            return false;
        }
        try {
            check("dnnl_memory_set_data_handle", (int) memorySetDataHandle.invokeExact(p.src, MemorySegment.ofAddress(a)));
            check("dnnl_memory_set_data_handle",
                    (int) memorySetDataHandle.invokeExact(p.weights, MemorySegment.ofAddress(b)));
            check("dnnl_memory_set_data_handle", (int) memorySetDataHandle.invokeExact(p.dst, MemorySegment.ofAddress(c)));
            check("dnnl_primitive_execute", (int) primitiveExecute.invokeExact(p.primitive, stream, 3, p.args));
            check("dnnl_stream_wait", (int) streamWait.invokeExact(stream));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("oneDNN matmul call failed", t);
        }
        return true;
    }

    private Prim create(long[] batch, long m, long n, long k, long[] sa, long[] sb, long[] sc) {
        Arena arena = Arena.ofShared();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment src = describe(tmp, batch, m, k, sa, DT_BF16);
            MemorySegment wei = describe(tmp, batch, k, n, sb, DT_BF16);
            MemorySegment dst = describe(tmp, batch, m, n, sc, DT_F32);
            MemorySegment op = tmp.allocate(OP_DESC_BYTES, 16);
            check("dnnl_matmul_desc_init", (int) matmulDescInit.invokeExact(op, src, wei, MemorySegment.NULL, dst));
            MemorySegment out = tmp.allocate(ADDRESS);
            int status = (int) primitiveDescCreate.invokeExact(out, op, MemorySegment.NULL, engine, MemorySegment.NULL);
            if (status != OneDnnLibrary.SUCCESS) {
                arena.close();
                return new Prim(null, null, null, null, null, null); // unimplemented layout: remembered
            }
            MemorySegment pd = out.get(ADDRESS, 0);
            MemorySegment name = tmp.allocate(ADDRESS);
            String impl = "?";
            if ((int) primitiveDescQuery.invokeExact(pd, QUERY_IMPL_INFO_STR, 0, name) == OneDnnLibrary.SUCCESS) {
                MemorySegment s = name.get(ADDRESS, 0);
                if (!s.equals(MemorySegment.NULL)) {
                    impl = s.reinterpret(256).getString(0);
                }
            }
            // NOTE: for some small strided batches oneDNN offers only its reference kernel ("ref:any"), plain
            // loops hundreds of times slower than the gemm entry point: treat those layouts as unimplemented.
            if (impl.startsWith("ref")) {
                int destroyedRef = (int) primitiveDescDestroy.invokeExact(pd);
                arena.close();
                check("dnnl_primitive_desc_destroy", destroyedRef);
                return new Prim(null, null, null, null, null, null);
            }
            implementation = impl;
            status = (int) primitiveCreate.invokeExact(out, pd);
            int destroyed = (int) primitiveDescDestroy.invokeExact(pd);
            check("dnnl_primitive_create", status);
            check("dnnl_primitive_desc_destroy", destroyed);
            MemorySegment primitive = out.get(ADDRESS, 0);
            MemorySegment[] mem = new MemorySegment[3];
            MemorySegment[] mds = {src, wei, dst};
            for (int i = 0; i < 3; i++) {
                check("dnnl_memory_create", (int) memoryCreate.invokeExact(out, mds[i], engine, MemorySegment.NULL));
                mem[i] = out.get(ADDRESS, 0);
            }
            // dnnl_exec_arg_t {int arg; dnnl_memory_t memory;}: 16 bytes with padding
            MemorySegment args = arena.allocate(48, 8);
            int[] argIds = {ARG_SRC, ARG_WEIGHTS, ARG_DST};
            for (int i = 0; i < 3; i++) {
                args.set(JAVA_INT, 16L * i, argIds[i]);
                args.set(ADDRESS, 16L * i + 8, mem[i]);
            }
            return new Prim(arena, primitive, mem[0], mem[1], mem[2], args);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException("oneDNN matmul creation failed", t);
        }
    }

    /** A memory descriptor [batch..., rows, cols] of the given strides (elements). */
    private MemorySegment describe(Arena tmp, long[] batch, long rows, long cols, long[] strides, int type)
            throws Throwable {
        MemorySegment md = tmp.allocate(MD_BYTES, 16);
        long[] dims = java.util.Arrays.copyOf(batch, batch.length + 2);
        dims[batch.length] = rows;
        dims[batch.length + 1] = cols;
        MemorySegment d = tmp.allocateFrom(JAVA_LONG, dims);
        MemorySegment s = tmp.allocateFrom(JAVA_LONG, strides);
        check("dnnl_memory_desc_init_by_strides", (int) memoryDescInitByStrides.invokeExact(md, dims.length, d, type, s));
        return md;
    }

    private static void check(String what, int status) {
        if (status != OneDnnLibrary.SUCCESS) {
            throw new IllegalStateException(what + " failed with oneDNN status " + status);
        }
    }

    /** What a primitive is made for: thread count, sizes, batch dimensions and strides, as one signature. */
    private record Key(int batchRank, long[] signature) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key other && batchRank == other.batchRank
                    && java.util.Arrays.equals(signature, other.signature);
        }

        @Override
        public int hashCode() {
            return 31 * batchRank + java.util.Arrays.hashCode(signature);
        }

        @Override
        public String toString() {
            return "Key" + java.util.Arrays.toString(signature);
        }
    }

    /** A made primitive and its three memory objects (all null when oneDNN has no implementation). */
    private record Prim(Arena arena, MemorySegment primitive, MemorySegment src, MemorySegment weights,
            MemorySegment dst, MemorySegment args) {
        void destroy(OneDnnMatmul lib) {
            if (primitive == null) {
                return;
            }
            try {
                int s1 = (int) lib.primitiveDestroy.invokeExact(primitive);
                int s2 = (int) lib.memoryDestroy.invokeExact(src);
                int s3 = (int) lib.memoryDestroy.invokeExact(weights);
                int s4 = (int) lib.memoryDestroy.invokeExact(dst);
                assert s1 + s2 + s3 + s4 == 0;
            } catch (Throwable t) {
                // NOTE: an eviction that fails to free leaks a little native memory; nothing to recover
            } finally {
                arena.close();
            }
        }
    }
}
