"""kaffe's test harness: a real Apache Kafka broker (KRaft) from Maven jars, no Docker, no mocks.

Modules, one job each:

* :mod:`.jars`    fetch pinned Kafka jars with ``mvn`` into ``~/.cache/kaffe/kafka/<version>``
* :mod:`.certs`   test CA, broker/client/untrusted/expired certificates (``cryptography``)
* :mod:`.config`  ``server.properties`` and quiet logging configs
* :mod:`.process` child processes in their own process groups, cleaned up on any exit
* :mod:`.node`    storage format and the broker JVM command line
* :mod:`.broker`  single node with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners
* :mod:`.cluster` three-node cluster with kill/stop/restart
* :mod:`.admin`   the Java Admin client tool (JSON lines over stdin/stdout)
* :mod:`.probe`   a minimal raw-wire ApiVersions/SASL PLAIN probe (test support only)

Command line: ``python -m kafka_harness {fetch,up,down,status,create-topic}``.
"""

from .admin import AdminError, AdminTimeoutError, AdminTool, ClusterDescription, TopicDescription
from .broker import BrokerStartError, ExternalBroker, LocalBroker, NotLocalBrokerError
from .certs import CertBundle, CertKey, make_certs
from .cluster import ClusterError, LocalCluster
from .config import SaslUser
from .jars import KafkaJars, fetch, kafka_clients_jar, message_spec_names

__all__ = [
    "AdminError",
    "AdminTimeoutError",
    "AdminTool",
    "BrokerStartError",
    "CertBundle",
    "CertKey",
    "ClusterDescription",
    "ClusterError",
    "ExternalBroker",
    "KafkaJars",
    "LocalBroker",
    "LocalCluster",
    "NotLocalBrokerError",
    "SaslUser",
    "TopicDescription",
    "fetch",
    "kafka_clients_jar",
    "make_certs",
    "message_spec_names",
]
