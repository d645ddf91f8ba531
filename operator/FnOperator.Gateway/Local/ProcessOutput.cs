namespace FnOperator.Gateway.Local;

/// <summary>
/// The terminal that local mode writes to: the start table, and every shim's and runtime's output line with a
/// <c>[function]</c> prefix. Lines from concurrent processes never interleave mid-line. <paramref name="annotate"/> may
/// return a note printed right after a prefixed line (e.g. a memory warning after a REPORT line).
/// </summary>
public sealed class ProcessOutput(TextWriter writer, Func<string, string, string?>? annotate = null)
{
    private readonly Lock gate = new();

    public static ProcessOutput Console { get; } = new(System.Console.Out);

    public void Line(string text)
    {
        lock (gate)
        {
            writer.WriteLine(text);
            writer.Flush();
        }
    }

    public void Prefixed(string prefix, string text)
    {
        var note = annotate?.Invoke(prefix, text);
        lock (gate)
        {
            writer.WriteLine($"[{prefix}] {text}");
            if (note is not null)
            {
                writer.WriteLine($"[{prefix}] {note}");
            }

            writer.Flush();
        }
    }
}
