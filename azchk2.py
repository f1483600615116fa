import os, sys
sys.path.insert(0, "/work/main/model_images/loader/src")
KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
cs=f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10999/devstoreaccount1;"
os.environ["AZURE_STORAGE_CONNECTION_STRING"]=cs
from llmcloud_loader.sources import open_store
fs=open_store("az")
d=fs.find("chk/m", detail=True)
for k,v in d.items(): print(k, {kk:(type(vv).__name__, vv if kk!="content_settings" else dict(vv)) for kk,vv in v.items()})
print(fs.info("chk/m/a.bin").get("content_settings"))
