using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode's pool on the real in-memory queue, with instances that are workers in this process (the launcher is the
/// seam: no shim or runtime processes).
/// </summary>
public sealed class FunctionPoolTests
{
    private static readonly FunctionKey Key = new("default", "steady");

    [Fact]
    public async Task Short_invocations_between_the_pools_looks_keep_its_instance_past_the_idle_window_then_it_scales_to_zero()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var launcher = new WorkerLauncher(queue);
        var spec = new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3 };
        var function = new LocalFunction(new Function { Metadata = new V1ObjectMeta { Name = Key.Name, NamespaceProperty = Key.Namespace }, Spec = spec }, "steady.yaml", ".");
        var idleWindow = TimeSpan.FromSeconds(1);
        var pool = new FunctionPool(function, new ShimLaunch("dotnet", "shim.dll", Key.Name, new Dictionary<string, string>()),
            FunctionPool.LimitsFor(spec, idleWindow), new VersionLoadSource(queue, FunctionRegistry.Latest), new ProcessOutput(TextWriter.Null),
            TimeProvider.System, NullLogger<FunctionPool>.Instance, launcher);
        using var stop = new CancellationTokenSource();
        var running = pool.RunAsync(stop.Token);

        // An invocation every 100 ms for 3 idle windows, each over in microseconds: the pool's 250 ms looks almost never
        // see one queued or in flight, and the first is taken at once by the waiting instance (no WorkArrived).
        var sent = 0;
        var until = DateTime.UtcNow + (3 * idleWindow);
        while (DateTime.UtcNow < until)
        {
            await queue.EnqueueAsync(Invocation($"r{sent++}"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
            await Task.Delay(100);
        }

        await TestWait.UntilAsync(() => launcher.Completed == sent);
        Assert.Equal(1, launcher.Started); // never stopped and started again
        Assert.Equal(1, pool.Running);

        // Idle now: after the window the instance is stopped (scale to zero). The pool takes an instance out of its
        // list before it asks it to stop, so the wait is for the stop itself: Running == 0 alone can be seen in between.
        await TestWait.UntilAsync(() => launcher.Stopped > 0, TimeSpan.FromSeconds(30));
        Assert.Equal(1, launcher.Stopped);
        Assert.Equal(0, pool.Running);
        Assert.Equal(1, launcher.Started);
        await stop.CancelAsync();
        await running;
    }

    private static Invocation Invocation(string id) => new()
    {
        RequestId = id, Namespace = Key.Namespace, FunctionName = Key.Name, Version = FunctionRegistry.Latest, InvokedFunctionArn = "arn",
        Type = InvocationType.Event, Payload = [], AcceptedAt = DateTimeOffset.UtcNow,
    };

    /// <summary>Starts instances that take invocations from the queue and complete them at once.</summary>
    private sealed class WorkerLauncher(InMemoryInvocationQueue queue) : IInstanceLauncher
    {
        private readonly InMemoryInvocationQueue queue = queue;
        private int started;
        private int stopped;
        private int completed;

        public int Started => Volatile.Read(ref started);

        public int Stopped => Volatile.Read(ref stopped);

        public int Completed => Volatile.Read(ref completed);

        public IFunctionInstance Start(ShimLaunch launch, ProcessOutput output, DateTimeOffset now)
        {
            Interlocked.Increment(ref started);
            return new Worker(this, now);
        }

        private sealed class Worker : IFunctionInstance
        {
            private readonly WorkerLauncher owner;
            private readonly CancellationTokenSource stopping = new();
            private readonly TaskCompletionSource<int> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public Worker(WorkerLauncher owner, DateTimeOffset now)
            {
                this.owner = owner;
                StartedAt = now;
                _ = Task.Run(LoopAsync);
            }

            public string Name => "worker";

            public DateTimeOffset StartedAt { get; }

            public Task<int> Exited => exited.Task;

            public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner.stopped);
                await stopping.CancelAsync();
                await exited.Task;
            }

            public ValueTask DisposeAsync()
            {
                stopping.Dispose();
                return ValueTask.CompletedTask;
            }

            private async Task LoopAsync()
            {
                try
                {
                    while (!stopping.IsCancellationRequested)
                    {
                        if (await owner.queue.NextAsync(Key, FunctionRegistry.Latest, TimeSpan.FromSeconds(1), stopping.Token) is { } invocation)
                        {
                            var result = new InvocationResult
                            {
                                RequestId = invocation.RequestId, Outcome = InvocationOutcome.Success, Payload = [], ExecutedVersion = FunctionRegistry.Latest,
                            };
                            await owner.queue.CompleteAsync(invocation.RequestId, invocation.LeaseToken!, result, default);
                            Interlocked.Increment(ref owner.completed);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Stopped.
                }
                finally
                {
                    exited.TrySetResult(0);
                }
            }
        }
    }
}
