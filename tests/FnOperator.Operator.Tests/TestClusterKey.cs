namespace FnOperator.Operator.Tests;

/// <summary>A cluster key file for operators started by tests (Operator:ClusterKeyFile is required).</summary>
public static class TestClusterKey
{
    public static readonly byte[] Key = "test-cluster-key-0123456789abcdefghijklmnopqrstuv"u8.ToArray();

    private static readonly Lazy<string> File = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"fnop-test-cluster-key-{Environment.ProcessId}");
        System.IO.File.WriteAllBytes(path, [.. Key, (byte)'\n']);
        return path;
    });

    public static string FilePath => File.Value;

    public static string[] Settings => ["--Operator:ClusterKeyFile", File.Value];
}
