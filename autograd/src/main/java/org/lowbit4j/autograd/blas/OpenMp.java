package org.lowbit4j.autograd.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The process's GNU OpenMP runtime ({@code libgomp.so.1}): read and set the calling thread's
 * {@code nthreads-var}, the thread count of the next parallel region it starts.
 *
 * <p>NOTE: ND4J loads its own {@code libgomp.so.1} from its jar cache before any oneDNN call; the
 * dynamic loader then resolves oneDNN's dependency of the same soname to that copy, and
 * {@code dlopen("libgomp.so.1")} here returns it too, so the process has one OpenMP runtime and
 * this controls the threads oneDNN uses. {@code omp_set_num_threads} changes only the calling
 * thread's setting (a Java thread is an OpenMP initial thread with its own ICVs), so callers set it
 * around each call and restore it: ND4J's own parallel regions on that thread keep their count.
 *
 * @param location where the runtime was found
 */
@SuppressWarnings("restricted")
record OpenMp(String location, MethodHandle getMaxThreads, MethodHandle setNumThreads) {
    /** @return the runtime already loaded in this process (or the system's), or null if there is none */
    static OpenMp find() {
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup("libgomp.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            return null;
        }
        Linker linker = Linker.nativeLinker();
        var get = lookup.find("omp_get_max_threads")
                .map(p -> linker.downcallHandle(p, FunctionDescriptor.of(JAVA_INT))).orElse(null);
        var set = lookup.find("omp_set_num_threads")
                .map(p -> linker.downcallHandle(p, FunctionDescriptor.ofVoid(JAVA_INT))).orElse(null);
        return get == null || set == null ? null : new OpenMp("libgomp.so.1", get, set);
    }

    /** @return the calling thread's current OpenMP thread count */
    int maxThreads() {
        try {
            return (int) getMaxThreads.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("omp_get_max_threads failed", t);
        }
    }

    /**
     * Sets the calling thread's OpenMP thread count.
     *
     * @param n at least 1
     * @return the previous count
     */
    int setThreads(int n) {
        int previous = maxThreads();
        if (previous != n) {
            try {
                setNumThreads.invokeExact(n);
            } catch (Throwable t) {
                throw new IllegalStateException("omp_set_num_threads failed", t);
            }
        }
        return previous;
    }
}
