namespace FnOperator.Sandbox.Tests;

/// <summary>The hostile (and careless) function the suite runs: one Node.js handler, one action per event.</summary>
public static class HostileFunction
{
    /// <summary>index.js (CommonJS, handler index.handler).</summary>
    public const string Code = """
        const fs = require('fs');
        const { spawn } = require('child_process');
        const held = [];
        exports.handler = async (event, context) => {
          switch (event.action) {
            case 'env':
              return { env: process.env, pid: process.pid };
            case 'spawn':
              for (let i = 0; i < event.n; i++) {
                // A setsid child (detached) and a double fork whose middle process exits at once.
                spawn('sleep', [String(event.secs)], { detached: true, stdio: 'ignore' }).unref();
                spawn('sh', ['-c', `setsid sleep ${event.secs} & exit 0`], { detached: true, stdio: 'ignore' }).unref();
              }
              await new Promise((r) => setTimeout(r, 500));
              if (event.crash) { process.exit(3); }
              if (event.hang) { await new Promise(() => setInterval(() => {}, 1000)); }
              return { spawned: event.n * 2, pid: process.pid };
            case 'alloc':
              held.push(Buffer.alloc(event.mb * 1024 * 1024, 1));
              if (event.hang) { await new Promise(() => setInterval(() => {}, 1000)); }
              return { held: held.length };
            case 'orphan-alloc': {
              // A double-forked child (re-parented to the shim, out of the runtime's tree) that holds event.mb MB.
              const script = `const b = Buffer.alloc(${event.mb} * 1048576, 1); require('fs').writeFileSync(${JSON.stringify(event.ready)}, String(process.pid)); setTimeout(() => b.length, ${event.secs} * 1000);`;
              spawn('sh', ['-c', 'setsid "$0" -e "$1" & exit 0', process.execPath, script], { detached: true, stdio: 'ignore' }).unref();
              while (!fs.existsSync(event.ready)) { await new Promise((r) => setTimeout(r, 20)); }
              await new Promise((r) => setTimeout(r, 300));
              return { orphan: Number(fs.readFileSync(event.ready, 'utf8')) };
            }
            case 'print':
              for (let i = 0; i < event.lines; i++) {
                console.log(`${event.tag} ${i} ${'x'.repeat(event.width)}`);
              }
              return { printed: event.lines };
            case 'mark':
              // One line per run of this invocation, then hang: a re-run under the same request id adds a second line.
              fs.appendFileSync(event.file, `${context.awsRequestId}\n`);
              await new Promise(() => setInterval(() => {}, 1000));
              return {};
            case 'sleep':
              await new Promise((r) => setTimeout(r, event.ms));
              return { slept: event.ms };
            case 'read-environ':
              try {
                return { read: fs.readFileSync(`/proc/${event.pid}/environ`, 'latin1').length };
              } catch (e) {
                return { error: e.code };
              }
            default:
              return { pid: process.pid };
          }
        };
        """;

    /// <summary>A temporary task root holding the function (world-readable, as a checkout is).</summary>
    public static string WriteTaskRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), "fnop-sandbox-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "index.js"), Code);
        return root;
    }

    /// <summary>A local-mode manifest for a function running this code (a folder per function under <paramref name="manifests"/>).</summary>
    public static void WriteManifest(FnOperator.Gateway.Tests.Local.TempManifests manifests, string name, int memoryMiB = 128, int timeoutSeconds = 30, string extraSpec = "")
    {
        ArgumentNullException.ThrowIfNull(manifests);
        manifests.NodeFunction(name, name, $"memoryMiB: {memoryMiB}\ntimeoutSeconds: {timeoutSeconds}\n{extraSpec}", Code);
    }
}
