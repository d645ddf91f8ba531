using System.Collections;

namespace FnOperator.Contracts.Tests;

/// <summary>An environment block that records every name looked up in it: what a reader really reads.</summary>
public sealed class RecordingEnvironment : Hashtable
{
    public RecordingEnvironment(IEnumerable<KeyValuePair<string, string>> variables)
    {
        foreach (var (name, value) in variables)
        {
            base[name] = value;
        }
    }

    public HashSet<string> Read { get; } = new(StringComparer.Ordinal);

    public override object? this[object key]
    {
        get
        {
            Read.Add((string)key);
            return base[key];
        }

        set => base[key] = value;
    }
}
