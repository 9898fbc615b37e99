// Starts DynamoDB Local like `java -jar DynamoDBLocal.jar ARGS`, but listening on 127.0.0.1 only:
// the jar has no option for the address and otherwise listens on every interface. It sets the
// address on the server the jar builds before starting it, and refuses to start if it cannot.
// Used by scripts/emulators.sh; telemetry stays off.
import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.monitoring.Telemetry;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalLoopback {
    public static void main(String[] args) throws Exception {
        Telemetry.configureTelemetry("", "", false);
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local built no connector to bind to 127.0.0.1");
        }
        for (Connector c : connectors) {
            ((ServerConnector) c).setHost("127.0.0.1");
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on 127.0.0.1");
    }
}
