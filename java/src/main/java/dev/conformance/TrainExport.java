package dev.conformance;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.bytedeco.javacpp.Pointer;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.TensorFlow;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TString;

/**
 * Trains a SavedModel's training signature in plain Java (no Python): the run the conformance
 * harness makes through JPype, as a command a Java team can rerun.
 *
 * <p>Inputs are .npy files: train.&lt;input&gt;.npy stacked per step ([steps, ...]) and
 * predict.&lt;input&gt;.npy. Writes losses.npy, metric.&lt;output&gt;.npy for the train signature's other
 * outputs named by --metrics, predict.&lt;output&gt;.npy and weights.&lt;output&gt;.npy (the --weights
 * signature's outputs after training: weights by value) as bit-exact values, Session.save's checkpoint
 * and optionally the save signature's, and prints a one-line JSON summary.
 * Exit status: 0 done, 2 bad input (the message names the file or signature), 1 TensorFlow failed.
 */
public final class TrainExport {

    static final String USAGE = "usage: java -cp <TF Java classpath>:train-export.jar dev.conformance.TrainExport"
            + " --export DIR --inputs DIR --out DIR [--steps N] [--train train] [--loss loss] [--metrics A,B]"
            + " [--predict NAME] [--save-dir DIR] [--save-signature NAME --save-path-input NAME] [--signature-dir DIR]"
            + " [--weights NAME]"
            + " [--threads 1] [--bench N] [--tags serve[,TAG...]]";

    /** Bad input: a missing or malformed file, an unknown signature or option. Exit status 2. */
    static final class BadInput extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadInput(String message) {
            super(message);
        }
    }

    /** TensorFlow failed at something it was asked to do. Exit status 1. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    /** The input tensors of one call, closed together. */
    private static final class Feeds implements AutoCloseable {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        /** Row `row` of each stacked array, or (row < 0) each whole array. */
        static Feeds of(Map<String, Npy> arrays, long row) {
            Feeds feeds = new Feeds();
            try {
                arrays.forEach((name, npy) -> feeds.tensors.put(name, row < 0 ? npy.tensor() : npy.row(row)));
            } catch (RuntimeException e) {
                feeds.close();
                throw e;
            }
            return feeds;
        }

        @Override
        public void close() {
            tensors.values().forEach(Tensor::close);
        }
    }

    private final Map<String, String> options;
    private final Path export, inputs, out;
    private SavedModelBundle bundle;

    private TrainExport(Map<String, String> options) {
        this.options = options;
        this.export = Path.of(required("--export"));
        this.inputs = Path.of(required("--inputs"));
        this.out = options.containsKey("--out") ? Path.of(options.get("--out")) : null; // run() requires it
    }

    public static void main(String[] args) {
        int status = 0;
        try {
            System.out.println(json(new TrainExport(parse(args)).run()));
        } catch (BadInput e) {
            System.err.println("TrainExport: " + oneLine(e.getMessage()));
            status = 2;
        } catch (Failure e) {
            System.err.println("TrainExport: " + oneLine(e.getMessage()));
            status = 1;
        } catch (IOException | RuntimeException | LinkageError e) { // LinkageError: an incomplete classpath
            System.err.println("TrainExport: " + oneLine(e.toString()));
            status = 1;
        }
        System.out.flush();
        System.exit(status); // TF's native threads must not keep the JVM alive
    }

    private Map<String, Object> run() throws IOException {
        required("--out");
        int threads = intOption("--threads", 1, 1);
        int bench = intOption("--bench", 0, 0);
        load(threads);
        try {
            return plan(threads, bench);
        } finally {
            bundle.close();
        }
    }

    /** Loads the export (tag serve) once it and the inputs directory are there. */
    private void load(int threads) {
        if (!Files.isDirectory(export)) {
            throw new BadInput(export + ": export directory does not exist");
        }
        if (!Files.exists(export.resolve("saved_model.pb")) && !Files.exists(export.resolve("saved_model.pbtxt"))) {
            throw new BadInput(export + ": not a SavedModel (no saved_model.pb)");
        }
        if (!Files.isDirectory(inputs)) {
            throw new BadInput(inputs + ": inputs directory does not exist");
        }
        ConfigProto config = ConfigProto.newBuilder()
                .setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(threads).build();
        try {
            // The meta graph's tag set: serve unless the export keeps its training graph under another (--tags).
            String tags = options.getOrDefault("--tags", "serve");
            bundle = SavedModelBundle.loader(export.toString()).withTags(tags.split(",")).withConfigProto(config).load();
        } catch (RuntimeException e) {
            throw new Failure(export + ": cannot load the SavedModel (tags " + options.getOrDefault("--tags", "serve")
                    + "): " + e.getMessage());
        }
    }

    /** Train, predict, save both ways, weights by value, bench: the order of the harness's plan (trajectory.py). */
    private Map<String, Object> plan(int threads, int bench) throws IOException {
        // Every input is checked before anything runs: bad input never leaves half an output behind.
        String trainName = options.getOrDefault("--train", "train");
        String lossName = options.getOrDefault("--loss", "loss");
        Signature train = signature(trainName, "--train");
        List<String> metrics = options.containsKey("--metrics") ? List.of(options.get("--metrics").split(",")) : List.of();
        for (String output : concat(lossName, metrics)) {
            if (!train.outputNames().contains(output)) {
                throw new BadInput(export + ": signature " + trainName + " has no output " + output
                        + " (outputs: " + String.join(", ", train.outputNames()) + ")");
            }
        }
        Map<String, Npy> trainInputs = inputsOf(train, "train", true);
        Npy first = trainInputs.values().stream().findFirst().orElse(null);
        long rows = first == null ? 0 : first.rows();
        for (Npy npy : trainInputs.values()) {
            if (npy.rows() != rows) {
                throw new BadInput(npy.path + ": " + npy.rows() + " steps, but " + first.path.getFileName() + " has " + rows);
            }
        }
        long steps = intOption("--steps", rows, 0);
        if (steps > rows) {
            throw new BadInput(inputs + ": --steps " + steps + " but the train.*.npy files hold " + rows + " steps");
        }
        if (bench > 0 && rows == 0) {
            throw new BadInput(inputs + ": --bench needs at least one step in the train.*.npy files");
        }
        String predictName = options.get("--predict");
        Map<String, Npy> predictInputs = predictName == null ? Map.of()
                : inputsOf(signature(predictName, "--predict"), "predict", false);
        String saveName = options.get("--save-signature");
        String pathInput = options.getOrDefault("--save-path-input", "checkpoint_path");
        if (saveName == null && (options.containsKey("--save-path-input") || options.containsKey("--signature-dir"))) {
            throw new BadInput("--save-path-input and --signature-dir need --save-signature; " + USAGE);
        }
        if (saveName != null) {
            Set<String> takes = signature(saveName, "--save-signature").inputNames();
            if (!takes.equals(Set.of(pathInput))) {
                throw new BadInput(export + ": signature " + saveName + " must take just --save-path-input " + pathInput
                        + "; its inputs: " + String.join(", ", takes));
            }
        }
        String weightsName = options.get("--weights");
        if (weightsName != null && !signature(weightsName, "--weights").inputNames().isEmpty()) {
            throw new BadInput(export + ": signature " + weightsName + " (--weights) must take no inputs; its inputs: "
                    + String.join(", ", signature(weightsName, "--weights").inputNames()));
        }
        Path saveDir = Path.of(options.getOrDefault("--save-dir", out.resolve("saver").toString()));
        Path signatureDir = Path.of(options.getOrDefault("--signature-dir", out.resolve("signature").toString()));

        Files.createDirectories(out);
        // Native memory still held after the calls shows up as live JavaCPP pointers. The first
        // tensor TF Java creates leaves one for good (a lazy singleton): create it before counting.
        Npy.DType.F4.empty().close();
        long pointers = Pointer.totalCount();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("tensorflow", TensorFlow.version());
        summary.put("java", System.getProperty("java.version"));
        summary.put("export", export.toString());
        summary.put("threads", threads);
        summary.put("steps", steps);
        Map<String, Object> files = new LinkedHashMap<>();
        SessionFunction trainFunction = bundle.function(trainName);
        train(trainFunction, trainInputs, lossName, metrics, steps, summary, files);
        summary.put("skipped_outputs", predictName == null ? List.of() : outputs(predictName, predictInputs, "predict", files));
        summary.put("files", files);

        Files.createDirectories(saveDir); // Session.save does not create it
        String saverPrefix = saveDir.resolve("variables").toString();
        long beforeSave = Pointer.totalCount();
        try {
            bundle.session().save(saverPrefix);
        } catch (RuntimeException e) {
            throw new Failure("Session.save(" + saverPrefix + "): " + e.getMessage());
        }
        // Not ours to close, so counted apart: TF Java's Session.save (1.0.0, 1.1.0) never closes
        // the filename tensor it feeds.
        long savePointers = Pointer.totalCount() - beforeSave;
        summary.put("saver_checkpoint", saverPrefix);

        String signaturePrefix = null;
        if (saveName != null) {
            Files.createDirectories(signatureDir);
            signaturePrefix = signatureDir.resolve("checkpoint").toString();
            try (TString path = TString.scalarOf(signaturePrefix)) {
                call(bundle.function(saveName), Map.of(pathInput, path)).close(); // the checkpoint is the result
            }
        }
        summary.put("signature_checkpoint", signaturePrefix);
        if (weightsName != null) { // after the saves, as the harness's plan calls it
            outputs(weightsName, Map.of(), "weights", files);
        }
        summary.put("bench", bench == 0 ? null : bench(trainFunction, trainInputs, lossName, rows, bench));
        summary.put("unreleased_native_pointers", Math.max(0, Pointer.totalCount() - pointers - savePointers));
        summary.put("session_save_native_pointers", savePointers);
        return summary;
    }

    private static List<String> concat(String first, List<String> rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }

    /**
     * Trains {@code steps} steps; writes losses.npy ([steps, *loss shape]) and the losses as decimal strings,
     * and metric.&lt;output&gt;.npy for each of {@code metrics} (the step's other outputs, stacked alike).
     */
    private void train(SessionFunction function, Map<String, Npy> arrays, String lossName, List<String> metrics,
                       long steps, Map<String, Object> summary, Map<String, Object> files) throws IOException {
        String name = function.signature().key();
        List<String> outputs = concat(lossName, metrics);
        Map<String, Npy.DType> types = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, List<byte[]>> values = new LinkedHashMap<>();
        for (String output : outputs) {
            types.put(output, Npy.DType.of(function.signature().getOutputs().get(output).dataType));
            shapes.put(output, new long[0]);
            values.put(output, new ArrayList<>());
        }
        for (long step = 0; step < steps; step++) {
            try (Feeds feeds = Feeds.of(arrays, step); Result result = call(function, feeds)) {
                for (String output : outputs) {
                    Tensor value = result.get(output).orElseThrow();
                    Npy.DType type = Npy.DType.of(value.dataType());
                    if (type == null) {
                        throw new Failure("signature " + name + ": output " + output + " is " + value.dataType()
                                + ", not a number");
                    }
                    types.put(output, type);
                    shapes.put(output, value.shape().asArray());
                    values.get(output).add(Npy.bytesOf(value));
                }
            }
        }
        Npy.DType lossType = types.get(lossName) == null ? Npy.DType.F4 : types.get(lossName); // no step: empty float32
        List<Object> decimals = new ArrayList<>();
        for (byte[] loss : values.get(lossName)) {
            List<String> numbers = new ArrayList<>();
            for (int i = 0; i < loss.length / lossType.size; i++) {
                numbers.add(lossType.format(loss, i));
            }
            decimals.add(numbers.size() == 1 ? numbers.get(0) : numbers);
        }
        for (String output : outputs) {
            boolean loss = output.equals(lossName);
            Npy.DType type = loss ? lossType : types.get(output) == null ? Npy.DType.F4 : types.get(output);
            Path file = out.resolve(loss ? "losses.npy" : "metric." + output + ".npy");
            writeStacked(file, type, steps, shapes.get(output), values.get(output));
            files.put(loss ? "losses" : "metric." + output, file.toString());
        }
        summary.put("loss_dtype", lossType.descr);
        summary.put("losses", decimals);
    }

    /** One .npy of [steps, *shape] from each step's bytes. */
    private static void writeStacked(Path file, Npy.DType type, long steps, long[] shape, List<byte[]> rows)
            throws IOException {
        byte[] all = new byte[rows.stream().mapToInt(b -> b.length).sum()];
        int at = 0;
        for (byte[] row : rows) {
            System.arraycopy(row, 0, all, at, row.length);
            at += row.length;
        }
        long[] stacked = new long[shape.length + 1];
        stacked[0] = steps;
        System.arraycopy(shape, 0, stacked, 1, shape.length);
        Npy.write(file, type, stacked, all);
    }

    /**
     * Calls signature {@code name} once (role "predict": on the predict inputs; "weights": on none); writes
     * {@code <role>.<output>.npy}; returns the outputs it skipped.
     */
    private List<String> outputs(String name, Map<String, Npy> arrays, String role, Map<String, Object> files)
            throws IOException {
        List<String> skipped = new ArrayList<>();
        try (Feeds feeds = Feeds.of(arrays, -1); Result result = call(bundle.function(name), feeds)) {
            for (Map.Entry<String, Tensor> output : result) {
                Npy.DType type = Npy.DType.of(output.getValue().dataType());
                if (type == null) { // strings and other non-numeric outputs are not compared
                    skipped.add(output.getKey());
                    continue;
                }
                Path file = out.resolve(role + "." + fileName(output.getKey()) + ".npy");
                Npy.write(file, type, output.getValue().shape().asArray(), Npy.bytesOf(output.getValue()));
                files.put(role + "." + output.getKey(), file.toString());
            }
        }
        return skipped;
    }

    /**
     * Per-call time of the training signature with its tensors built from the arrays on every call
     * and the loss copied out, as the harness does through JPype. Runs after the saves: the
     * trajectory and checkpoints above are unaffected. As many untimed calls come first: the JIT
     * and TensorFlow warm up over the first thousands of calls (the harness's bench warms up alike).
     */
    private Map<String, Object> bench(SessionFunction train, Map<String, Npy> arrays, String lossName, long rows,
                                      int calls) {
        long[] nanos = new long[calls];
        for (int i = -calls; i < calls; i++) {
            long start = System.nanoTime();
            step(train, arrays, lossName, Math.floorMod(i, rows));
            if (i >= 0) {
                nanos[i] = System.nanoTime() - start;
            }
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double median = calls % 2 == 1 ? sorted[calls / 2] : (sorted[calls / 2 - 1] + sorted[calls / 2]) / 2.0;
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("calls", calls);
        timings.put("median_us", median / 1e3);
        timings.put("mean_us", Arrays.stream(nanos).average().orElse(0) / 1e3);
        timings.put("min_us", sorted[0] / 1e3);
        timings.put("max_us", sorted[calls - 1] / 1e3);
        return timings;
    }

    /** What the benchmarks time: one train call, its tensors made from row `row` of the arrays; the loss's bytes. */
    private byte[] step(SessionFunction train, Map<String, Npy> arrays, String lossName, long row) {
        try (Feeds feeds = Feeds.of(arrays, row); Result result = call(train, feeds)) {
            return Npy.bytesOf(result.get(lossName).orElseThrow());
        }
    }

    /**
     * The --bench loop's body one call at a time, for a caller that alternates it with a loop of its
     * own: the harness's benchmark runs it in its JPype worker's JVM, call by call beside the
     * harness's train call, so that the machine's load (here it drifts the time of a whole block of
     * calls by a third) weighs on both alike. Loads the export itself: a session of its own.
     */
    public static final class Stepper implements AutoCloseable {
        private final TrainExport run;
        private final SessionFunction train;
        private final Map<String, Npy> arrays;
        private final String lossName;
        private final long rows;
        private byte[] loss;

        public Stepper(String export, String inputs, String train, String lossName, int threads) throws IOException {
            run = new TrainExport(Map.of("--export", export, "--inputs", inputs));
            run.load(threads);
            try {
                Signature signature = run.signature(train, "--train");
                if (!signature.outputNames().contains(lossName)) {
                    throw new BadInput(export + ": signature " + train + " has no output " + lossName);
                }
                arrays = run.inputsOf(signature, "train", true);
                rows = arrays.values().stream().mapToLong(Npy::rows).min().orElse(0);
                if (rows == 0) {
                    throw new BadInput(inputs + ": no step in the train.*.npy files");
                }
                this.train = run.bundle.function(train);
                this.lossName = lossName;
            } catch (IOException | RuntimeException e) {
                run.bundle.close();
                throw e;
            }
        }

        /** One train call on row `i` (modulo the rows); its nanoseconds. */
        public long step(long i) {
            long start = System.nanoTime();
            loss = run.step(train, arrays, lossName, Math.floorMod(i, rows));
            return System.nanoTime() - start;
        }

        /** The raw bytes of the last step's loss. */
        public byte[] loss() {
            return loss;
        }

        @Override
        public void close() {
            run.bundle.close();
        }
    }

    private Result call(SessionFunction function, Feeds feeds) {
        return call(function, feeds.tensors);
    }

    private Result call(SessionFunction function, Map<String, Tensor> feeds) {
        try {
            return function.call(feeds);
        } catch (RuntimeException e) {
            throw new Failure("signature " + function.signature().key() + " failed: " + e);
        }
    }

    private Signature signature(String name, String option) {
        List<String> names = new ArrayList<>();
        for (Signature s : bundle.signatures()) {
            if (s.key().equals(name)) {
                return s;
            }
            names.add(s.key());
        }
        throw new BadInput(export + ": no signature " + name + " (" + option + "); signatures: " + String.join(", ", names));
    }

    /**
     * The arrays a signature's inputs need, checked against it: one &lt;role&gt;.&lt;input&gt;.npy per
     * input (role "train" or "predict", whatever the signature's name), no other &lt;role&gt;.*.npy,
     * dtypes equal, shapes compatible (per step when stacked).
     */
    private Map<String, Npy> inputsOf(Signature signature, String role, boolean stacked) throws IOException {
        String key = signature.key();
        Map<String, Npy> arrays = new TreeMap<>();
        for (Map.Entry<String, Signature.TensorDescription> input : signature.getInputs().entrySet()) {
            Path file = inputs.resolve(role + "." + input.getKey() + ".npy");
            if (!Files.exists(file)) {
                throw new BadInput(file + ": missing (input " + input.getKey() + " of signature " + key + ")");
            }
            Npy npy = Npy.read(file);
            Signature.TensorDescription want = input.getValue();
            if (npy.dtype.dataType != want.dataType) {
                throw new BadInput(file + ": " + npy.dtype.descr + " but input " + input.getKey() + " of signature "
                        + key + " is " + want.dataType);
            }
            long[] shape = stacked ? Arrays.copyOfRange(npy.shape, Math.min(1, npy.shape.length), npy.shape.length)
                    : npy.shape;
            if ((stacked && npy.shape.length == 0) || !fits(shape, want.shape)) {
                throw new BadInput(file + ": shape " + Arrays.toString(npy.shape) + (stacked ? " ([steps, ...])" : "")
                        + " does not fit input " + input.getKey() + " of signature " + key + ": " + want.shape);
            }
            arrays.put(input.getKey(), npy);
        }
        // A stray file is most likely a misspelt input: refuse it rather than train without it.
        try (DirectoryStream<Path> files = Files.newDirectoryStream(inputs, role + ".*.npy")) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String input = name.substring(role.length() + 1, name.length() - ".npy".length());
                if (!arrays.containsKey(input)) {
                    throw new BadInput(file + ": signature " + key + " has no input " + input + " (inputs: "
                            + String.join(", ", signature.inputNames()) + ")");
                }
            }
        }
        return arrays;
    }

    private static boolean fits(long[] shape, Shape want) {
        if (want.isUnknown()) {
            return true;
        }
        if (want.numDimensions() != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (want.get(i) >= 0 && want.get(i) != shape[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * An output's name as a file name: bytes outside [A-Za-z0-9_.-] of its UTF-8 as %XX (an Estimator's
     * "predictions/probabilities"), every dot too if the name is only dots. The summary's keys keep the name.
     */
    static String fileName(String output) {
        boolean dots = output.matches("\\.*");
        StringBuilder name = new StringBuilder();
        for (byte b : output.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
                    || c == '-' || (c == '.' && !dots);
            name.append(plain ? String.valueOf((char) c) : String.format("%%%02X", c));
        }
        return name.toString();
    }

    private static Map<String, String> parse(String[] args) {
        List<String> known = List.of("--export", "--inputs", "--out", "--steps", "--train", "--loss", "--metrics",
                "--predict", "--save-dir", "--save-signature", "--save-path-input", "--signature-dir", "--weights",
                "--threads", "--bench", "--tags");
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!known.contains(args[i]) || i + 1 >= args.length) {
                throw new BadInput((known.contains(args[i]) ? args[i] + " needs a value" : "unknown option " + args[i])
                        + "; " + USAGE);
            }
            options.put(args[i], args[i + 1]);
        }
        return options;
    }

    private String required(String option) {
        String value = options.get(option);
        if (value == null) {
            throw new BadInput(option + " is required; " + USAGE);
        }
        return value;
    }

    private int intOption(String option, long fallback, int minimum) {
        String value = options.get(option);
        try {
            int n = value == null ? Math.toIntExact(fallback) : Integer.parseInt(value);
            if (n < minimum) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new BadInput(option + " must be an integer >= " + minimum + ", got " + value);
        }
    }

    private static String oneLine(String message) {
        return String.valueOf(message).strip().replaceAll("\\s+", " ");
    }

    /** JSON for maps, lists, strings, numbers, booleans and null: all a summary holds. */
    static String json(Object value) {
        if (value == null || value instanceof Number || value instanceof Boolean) {
            return String.valueOf(value);
        }
        if (value instanceof Map<?, ?> map) {
            return map.entrySet().stream().map(e -> json(String.valueOf(e.getKey())) + ": " + json(e.getValue()))
                    .collect(Collectors.joining(", ", "{", "}"));
        }
        if (value instanceof List<?> list) {
            return list.stream().map(TrainExport::json).collect(Collectors.joining(", ", "[", "]"));
        }
        StringBuilder s = new StringBuilder("\"");
        for (char c : value.toString().toCharArray()) {
            if (c == '"' || c == '\\') {
                s.append('\\').append(c);
            } else if (c < 0x20) {
                s.append(String.format("\\u%04x", (int) c));
            } else {
                s.append(c);
            }
        }
        return s.append('"').toString();
    }
}
