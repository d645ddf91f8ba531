namespace FnOperator.Gateway.Tests.Support;

/// <summary>The queue implementation a gateway test runs against ("one suite, two fixtures").</summary>
public enum QueueKind
{
    InMemory,
    JetStream,
}

public static class Queues
{
    /// <summary>Theory data: every queue implementation.</summary>
    public static TheoryData<QueueKind> Both => new(QueueKind.InMemory, QueueKind.JetStream);
}
