namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode serving the repository's examples/ folder, as <c>make run</c> does, shared by a test class.</summary>
public sealed class ExamplesFixture : IAsyncLifetime
{
    private LocalModeProcess? local;

    public LocalModeProcess Local => local ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => local = await LocalModeProcess.StartAsync(Path.Combine(RepoPaths.Root, "examples"));

    public async Task DisposeAsync()
    {
        if (local is not null)
        {
            await local.DisposeAsync();
        }
    }
}
