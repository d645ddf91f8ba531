namespace FnOperator.Gateway.Local;

/// <summary>
/// The terminal that local mode writes to: the start table, and every shim's and runtime's output line with a
/// <c>[function]</c> prefix. Lines from concurrent processes never interleave mid-line.
/// </summary>
public sealed class ProcessOutput(TextWriter writer)
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

    public void Prefixed(string prefix, string text) => Line($"[{prefix}] {text}");
}
